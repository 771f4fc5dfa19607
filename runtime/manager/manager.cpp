// The Manager: named handles served to the links a manager's endpoint
// accepted, and the client that opens them. Threads: open() and names() run
// on the io thread (request handlers) and hold `mtx_` only to read the
// table; serve() and shutdown() run on the caller's thread.
#include "proctor/manager.hpp"

#include <map>
#include <mutex>

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"
#include "proctor/runtime.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "transport/base/log.hpp"

namespace proctor {

namespace internal {

class manager_state : public object_directory {
public:
  explicit manager_state(runtime_impl& rt) : rt_(rt) {
  }

  void start(const std::string& endpoint, const std::shared_ptr<manager_state>& self) {
    server_ = rt_.listen_peers(endpoint, rt_.keys(), self);
    address_ = server_->local().to_string();
  }

  const std::string& bound() const noexcept {
    return address_;
  }

  void serve(const std::string& name, std::string type, const handle_writer& write) {
    std::vector<char> handle;
    caf::binary_serializer sink{&rt_.routes().context(), handle};
    if (auto err = write(sink))
      throw error(errc::bad_argument, "proctor: cannot serialize the handle served as \"" + name
                                        + "\": " + rt_.system().render(err));
    std::lock_guard<std::mutex> guard{mtx_};
    if (shut_down_)
      throw error(errc::invalid_state, "proctor: the manager is shut down");
    objects_[name] = {std::move(type), std::move(handle)};
  }

  void shutdown() {
    std::map<std::string, open_request::reply_type> objects;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (shut_down_)
        return;
      shut_down_ = true;
      objects.swap(objects_);
    }
    server_->close();
    rt_.close_links_of(*this, errc::owner_gone, "the manager shut down");
    log("manager", log_level::info, "manager at ", address_, " shut down");
  }

  // -- object_directory ------------------------------------------------------

  caf::expected<open_request::reply_type> open(const open_request& request) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = objects_.find(request.name);
    if (i == objects_.end())
      return make_caf_error(errc::not_published, "the manager serves nothing as \""
                                                   + request.name + "\"");
    if (i->second.type != request.type)
      return make_caf_error(errc::type_mismatch, "\"" + request.name + "\" is a "
                                                   + i->second.type + ", not a "
                                                   + request.type);
    return i->second;
  }

  std::string address() const override {
    return address_;
  }

  bool shut_down() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    return shut_down_;
  }

  names_request::reply_type names() override {
    names_request::reply_type out;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [name, object] : objects_) {
      out.names.push_back(name);
      out.types.push_back(object.type);
    }
    return out;
  }

private:
  runtime_impl& rt_;
  std::shared_ptr<listener> server_;
  std::string address_;
  mutable std::mutex mtx_;
  std::map<std::string, open_request::reply_type> objects_;
  bool shut_down_ = false;
};

class manager_connection {
public:
  manager_connection(runtime_impl& rt, const std::string& text, const handshake_keys& keys,
                     std::chrono::milliseconds timeout)
    : rt_(rt) {
    endpoint ep;
    if (parse_endpoint(text, ep))
      throw error(errc::invalid_endpoint, "proctor: not an endpoint: \"" + text + "\"");
    endpoint_ = ep.to_string();
    auto [channel, listing] = rt_.ask_peer(text, keys, names_request{endpoint_}, timeout);
    link_ = std::move(channel);
  }

  void open(const std::string& name, const std::string& type, const handle_reader& read) {
    auto reply = rt_.ask_link(*usable(), open_request{endpoint_, name, type}, std::nullopt);
    if (!reply)
      fail(reply.error());
    bounded_deserializer source{&rt_.routes().context(), reply->handle.data(),
                                reply->handle.size()};
    decoding_from hop{link_.get()};
    if (auto err = read(source); err || source.remaining() != 0)
      throw error(errc::malformed_payload,
                  "proctor: the handle served as \"" + name + "\" does not decode");
  }

  std::vector<std::pair<std::string, std::string>> names() {
    auto reply = rt_.ask_link(*usable(), names_request{endpoint_}, std::nullopt);
    if (!reply)
      fail(reply.error());
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < reply->names.size() && i < reply->types.size(); ++i)
      out.emplace_back(reply->names[i], reply->types[i]);
    return out;
  }

private:
  /// The link, unless it went down: then every call fails, as for the
  /// handles that came through it.
  const std::shared_ptr<link>& usable() {
    if (auto [reason, detail] = link_->closed_reason(); reason)
      throw error(errc::owner_gone, "proctor: the manager at " + endpoint_ + " is gone: "
                                      + (detail.empty() ? reason.message() : detail));
    return link_;
  }

  [[noreturn]] void fail(const caf::error& err) {
    auto [code, detail] = parts_of(err, rt_.system());
    if (means_actor_gone(err))
      throw error(errc::owner_gone, "proctor: the manager at " + endpoint_ + " is gone: "
                                      + (detail.empty() ? to_string(code) : detail));
    throw_error(code, "proctor: " + endpoint_ + ": " + detail);
  }

  runtime_impl& rt_;
  std::string endpoint_;
  std::shared_ptr<link> link_;
};

void serve_object(manager_state& m, const std::string& name, std::string type,
                  const handle_writer& write) {
  m.serve(name, std::move(type), write);
}

void open_object(manager_connection& c, const std::string& name, const std::string& type,
                 const handle_reader& read) {
  c.open(name, type, read);
}

namespace {

handshake_keys keys_for(runtime_impl& rt, const std::optional<std::string>& authkey) {
  return authkey ? derive_handshake_keys(*authkey) : rt.keys();
}

} // namespace

} // namespace internal

manager::manager(runtime& rt, const std::string& endpoint)
  : state_(std::make_shared<internal::manager_state>(internal::impl_of(rt))) {
  state_->start(endpoint, state_);
}

manager::~manager() {
  shutdown();
}

const std::string& manager::address() const {
  return state_->bound();
}

void manager::shutdown() {
  state_->shutdown();
}

manager_client::manager_client(runtime& rt, const std::string& endpoint,
                               manager_options options, std::chrono::milliseconds timeout)
  : conn_(std::make_shared<internal::manager_connection>(
      internal::impl_of(rt), endpoint, internal::keys_for(internal::impl_of(rt), options.authkey),
      timeout)) {
}

std::vector<std::pair<std::string, std::string>> manager_client::names() const {
  return conn_->names();
}

} // namespace proctor
