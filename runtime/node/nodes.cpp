// Nodes, the master's side: joins, the table rt.nodes() shows, workers
// started on a node, and a node's death. The master is the one coordinator
// (as Ray's head node is): a node knows only its master, and there is no
// consensus store. Threads: the join handler and node_link_closed run on
// the io thread and hold mtx_ only to update the table; start_on_node
// blocks its caller.
#include "runtime/core/runtime_impl.hpp"

#include "proctor/runtime.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/node/node_requests.hpp"
#include "transport/base/log.hpp"

namespace proctor {

const char* to_string(node_state x) noexcept {
  switch (x) {
    case node_state::alive: return "alive";
    case node_state::suspect: return "suspect";
    case node_state::dead: return "dead";
  }
  return "?";
}

namespace internal {

namespace {

/// A worker on a node: signals travel as requests to the node, which
/// signals its own child; they are not waited for.
class remote_worker : public worker_process {
public:
  remote_worker(runtime_impl& rt, std::weak_ptr<link> node_link, std::string node,
                std::uint32_t pid)
    : rt_(rt), node_link_(std::move(node_link)), node_(std::move(node)), pid_(pid) {
  }

  void signal(int sig) override {
    if (auto l = node_link_.lock())
      rt_.post_request(*l, signal_request{pid_, sig});
  }

  std::string describe() const override {
    return "pid " + std::to_string(pid_) + " on node " + node_;
  }

private:
  runtime_impl& rt_;
  std::weak_ptr<link> node_link_;
  std::string node_;
  std::uint32_t pid_;
};

/// More cores than any host has: a join claiming them is refused.
constexpr std::uint32_t max_node_cores = 4096;

} // namespace

void runtime_impl::serve_nodes() {
  served_.serve<join_request>([this](link& from, join_request& request)
                                -> caf::expected<join_request::reply_type> {
    // A member may join as a node; what it claims is bounded all the same.
    if (request.cores == 0 || request.cores > max_node_cores || request.host.empty()
        || request.host.size() > 255)
      return make_caf_error(errc::bad_argument, "a join with " + std::to_string(request.cores)
                                                  + " cores or a host name of "
                                                  + std::to_string(request.host.size())
                                                  + " bytes");
    auto id = request.host + ":" + std::to_string(request.pid);
    join_request::reply_type reply;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (node_links_.contains(&from))
        return make_caf_error(errc::protocol_violation, "this link joined already");
      auto& record = nodes_[id];
      if (record.channel.lock() && record.info.state != node_state::dead)
        return make_caf_error(errc::duplicate_node, "node " + id + " is live on another link");
      record.info.id = id;
      record.info.host = request.host;
      record.info.cores = request.cores;
      record.info.state = node_state::alive;
      record.info.reason.clear();
      reply.incarnation = ++record.info.incarnation;
      record.channel = from.weak_from_this();
      node_links_[&from] = id;
      reply.id = id;
    }
    cv_.notify_all();
    log("runtime", log_level::info, "node ", id, " joined with ", request.cores,
        " cores (incarnation ", reply.incarnation, ")");
    return reply;
  });
  node_side_requests();
  serve_node_processes();
}

std::optional<std::string> runtime_impl::node_link_closed(const link& l,
                                                         const std::string& cause) {
  std::string text;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = node_links_.find(&l);
    if (i == node_links_.end())
      return std::nullopt;
    auto& record = nodes_[i->second];
    record.info.state = node_state::dead;
    record.info.reason = cause;
    text = "node " + i->second + " is dead: " + cause;
    node_links_.erase(i);
  }
  cv_.notify_all();
  lose_node_processes(l);
  log("runtime", log_level::warning, text);
  return text;
}

std::vector<node_info> runtime_impl::nodes() {
  auto suspect_after = 2 * heartbeat_interval_;
  std::vector<std::pair<node_info, std::shared_ptr<link>>> found;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, record] : nodes_)
      found.emplace_back(record.info, record.channel.lock());
  }
  std::vector<node_info> out;
  for (auto& [info, channel] : found) {
    if (info.state == node_state::alive && channel && heartbeat_interval_.count() > 0
        && channel->heard_ago() > suspect_after)
      info.state = node_state::suspect;
    out.push_back(std::move(info));
  }
  return out;
}

bool runtime_impl::wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] { return node_links_.size() >= n; });
}

std::optional<unsigned> runtime_impl::node_cores(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.info.state == node_state::dead || !i->second.channel.lock())
    return std::nullopt;
  return i->second.info.cores;
}

std::shared_ptr<link> runtime_impl::live_node_link(const std::string& id) {
  std::shared_ptr<link> channel;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = nodes_.find(id); i != nodes_.end() && i->second.info.state != node_state::dead)
      channel = i->second.channel.lock();
  }
  if (!channel)
    throw error(errc::node_down, "proctor: no node " + id + " is alive");
  return channel;
}

std::shared_ptr<worker_process> runtime_impl::node_worker(const std::shared_ptr<link>& channel,
                                                          const std::string& id,
                                                          std::uint32_t pid) {
  return std::make_shared<remote_worker>(*this, channel, id, pid);
}

runtime_impl::placed_worker runtime_impl::start_on_node(const std::string& id,
                                                        const std::string& actor,
                                                        const std::string& args,
                                                        const std::string& process_name) {
  auto channel = live_node_link(id);
  auto reply = requests_.call(*channel, start_request{actor, process_name, args},
                              std::chrono::seconds{60});
  if (!reply) {
    auto [code, detail] = parts_of(reply.error(), *system_);
    if (means_actor_gone(reply.error()))
      throw error(errc::node_down, "proctor: node " + id + " is gone: " + detail);
    throw_error(code, "proctor: node " + id + ": " + detail);
  }
  if (channel->closed_reason().first) {
    // Gone while it answered: the worker died with it, or was stopped.
    throw error(errc::node_down, "proctor: node " + id + " is gone");
  }
  // The worker is reached through its node.
  router_->add_route(reply->address.node, channel);
  return {router_->proxy_for(reply->address.node, reply->address.id),
          node_worker(channel, id, reply->pid)};
}

} // namespace internal

std::vector<node_info> runtime::nodes() {
  return impl_->nodes();
}

bool runtime::wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout) {
  return impl_->wait_for_nodes(n, timeout);
}

caf::strong_actor_ptr runtime::spawn_registered_on(const std::string& node,
                                                   const std::string& name,
                                                   const std::string& args) {
  return impl_->start_on_node(node, name, args, "ActorHost-" + name).actor;
}

} // namespace proctor
