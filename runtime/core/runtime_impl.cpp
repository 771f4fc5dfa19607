#include "runtime/core/runtime_impl.hpp"

#include "actors/shared/block_table.hpp"
#include "runtime/core/heap_trimmer.hpp"

#include "runtime/pipe/pipe_broker.hpp"
#include "runtime/pool/pool_protocol.hpp"
#include "runtime/queue/ack_batcher.hpp"
#include "runtime/queue/queue_feeder.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <cstdlib>
#include <iostream>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <caf/actor_registry.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include "actors/errors.hpp"
#include "proctor/actor.hpp"
#include "proctor/message_type.hpp"
#include "proctor/task.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

runtime_impl* the_runtime = nullptr;

caf::error exit_error(pid_t pid, const exit_status& status) {
  return make_caf_error(status.signaled ? errc::process_killed : errc::process_exited,
                        "process " + std::to_string(pid) + " " + status.to_string(),
                        status.python_exitcode());
}

} // namespace

runtime_impl* current_runtime() noexcept {
  return the_runtime;
}

caf::execution_unit* serialization_unit() noexcept {
  return the_runtime ? &the_runtime->routes().context() : nullptr;
}

std::uint64_t binary_fingerprint() {
  std::uint64_t hash = 1469598103934665603ull; // FNV-1a
  auto mix = [&](const std::string& text) {
    for (unsigned char c : text)
      hash = (hash ^ c) * 1099511628211ull;
    hash = (hash ^ 0xff) * 1099511628211ull;
  };
  mix("proctor/" + std::to_string(protocol_version));
  for (auto& name : task_names())
    mix("task:" + name);
  for (auto& name : actor_names())
    mix("actor:" + name);
  std::vector<std::string> types;
  for (auto& entry : message_types())
    types.push_back(entry.name);
  std::sort(types.begin(), types.end());
  for (auto& name : types)
    mix("type:" + name);
  return hash;
}

namespace {

/// Each proctor::bytes in shared memory holds a descriptor: the soft limit
/// on open descriptors (often 1024) goes up to the hard one, as Go's
/// runtime does for its network descriptors.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void) ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

/// Two registrations under one name would make lookups by name ambiguous.
void check_unique_names() {
  auto check = [](std::vector<std::string> names, const char* what) {
    std::sort(names.begin(), names.end());
    if (auto i = std::adjacent_find(names.begin(), names.end()); i != names.end())
      throw error(errc::bad_argument, std::string{"proctor: two "} + what + " named " + *i
                                        + " in this binary; names must be unique");
  };
  check(task_names(), "PROCTOR_TASK");
  check(actor_names(), "PROCTOR_ACTOR");
  std::vector<std::string> types;
  for (auto& entry : message_types())
    types.push_back(entry.name);
  check(types, "PROCTOR_MESSAGE_TYPE");
}

} // namespace

// -- runtime_impl -------------------------------------------------------------

runtime_impl::runtime_impl(int argc, char** argv, std::string authkey, process_role role)
  : authkey_(std::move(authkey)), keys_(derive_handshake_keys(authkey_)), role_(role) {
  register_pool_worker();
  names_ = std::make_shared<name_table>();
  serve_control();
  serve_blocks();
  serve_registry();
  serve_nodes();
  for (int i = 0; i < argc; ++i)
    argv_.emplace_back(argv[i]);
  // Latency over throughput: sharing wakes one worker thread per message
  // instead of spinning up thieves.
  cfg_.set("scheduler.policy", caf::atom("sharing"));
  // CAF 0.17 gives an actor system a node id only through its middleman; it
  // is loaded for that alone, without its I/O thread (proctor has its own).
  cfg_.load<caf::io::middleman>();
  cfg_.set("middleman.manual-multiplexing", true);
  // CAF's own utility actors (spawn and config servers) run on the
  // scheduler instead of a thread each: two threads fewer to start and
  // keep in every process.
  cfg_.set("middleman.attach-utility-actors", true);
  // A worker's own work runs on threads of its own (a task, a pool worker);
  // CAF's default of at least four scheduler threads costs it start time
  // and memory for nothing. --scheduler.max-threads still decides.
  if (role == process_role::worker)
    cfg_.set("scheduler.max-threads",
             static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
  read_settings();
  if (role == process_role::master)
    blocks_ = std::make_shared<block_table>(max_shared_size_);
  release_gate_ = std::make_shared<block_release_gate>();
  release_gate_->rt = this;
  raise_descriptor_limit();
  cfg_.add_error_category(error_category, [](std::uint8_t code, caf::atom_value,
                                             const caf::message& context) {
    std::string text = "proctor::";
    text += to_string(static_cast<errc>(code));
    if (!context.empty() && context.match_element<std::string>(0))
      text += ": " + context.get_as<std::string>(0);
    return text;
  });
  auto method = caf::get_or(cfg_, "proctor.start-method", std::string{"forkserver"});
  if (method == "forkserver")
    forkserver_ = std::make_unique<forkserver>(argv_, authkey_);
  else if (method != "spawn")
    throw error(errc::bad_argument,
                "proctor: --proctor.start-method must be forkserver or spawn, not " + method);
  check_unique_names();
  for (auto& entry : message_types())
    entry.add(cfg_, entry.name);
  system_ = std::make_unique<caf::actor_system>(cfg_);
  router_ = std::make_unique<router>(*system_);
  work_.emplace(io_.get_executor());
  io_thread_ = std::thread{[this] { io_.run(); }};
  // The fork server's exec is the slow part of a first worker start: the
  // master starts it now, in the background, instead of when a pool or a
  // process first asks for a worker (which then queues behind it).
  if (forkserver_ && role == process_role::master)
    boost::asio::post(blocking().context(), [this] {
      std::string detail;
      if (auto ec = forkserver_->start(detail))
        log("runtime", log_level::warning, "cannot start the fork server: ", detail,
            "; trying again at the first worker start");
    });
  the_runtime = this;
}

runtime_impl::~runtime_impl() {
  {
    // Holds on shared memory let go of from here on are gone with us.
    std::lock_guard<std::mutex> guard{release_gate_->mtx};
    release_gate_->rt = nullptr;
  }
  drain_feeders();
  std::shared_ptr<ack_batcher> acks;
  {
    std::lock_guard<std::mutex> guard{acks_mtx_};
    acks = std::move(acks_);
  }
  acks.reset(); // sends what is left, before the links close
  std::vector<std::shared_ptr<child_process>> children;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    children = children_;
  }
  for (auto& child : remote_children())
    children.push_back(child);
  // Python's exit: daemons are terminated, other children joined.
  for (auto& child : children)
    if (child->daemon)
      child->signal(SIGTERM);
  for (auto& child : children)
    child->wait(std::nullopt);
  // Close listeners and the remaining links on the io thread, so that every
  // actor behind them is reported down before the system goes.
  std::promise<void> closed;
  boost::asio::post(io_, [this, &closed] {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& child : children_)
      child->pidfd.reset();
    for (auto& server : listeners_)
      server->close();
    auto links = router_->links();
    for (auto& [key, peer] : peers_)
      links.push_back(peer);
    for (auto& l : links)
      l->close(errc::connection_closed, "the runtime is ending");
    boost::asio::post(io_, [&closed] { closed.set_value(); });
  });
  closed.get_future().wait();
  work_.reset();
  io_.stop();
  io_thread_.join();
  {
    std::lock_guard<std::mutex> guard{blocking_mtx_};
    trimmer_.reset();
  }
  blocking_.reset();
  forkserver_.reset();
  pipes_.reset();
  the_runtime = nullptr;
  for (auto& actor : owned_)
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  owned_.clear();
  for (auto& [name, actor] : published_)
    if (actor && actor->node() == system_->node())
      system_->registry().erase(actor->id());
  published_.clear();
  peers_.clear();
  run_for_master_.clear();
  directories_.clear();
  listeners_.clear();
  router_->proxies().clear();
}

void runtime_impl::own(const caf::actor& actor) {
  std::lock_guard<std::mutex> guard{mtx_};
  // Forget the ones that ended already, so the list does not grow forever.
  std::erase_if(owned_, [](const caf::actor_addr& x) { return !x; });
  owned_.push_back(actor.address());
}

std::vector<std::shared_ptr<child_process>> runtime_impl::live_children() {
  std::lock_guard<std::mutex> guard{mtx_};
  return children_;
}

std::shared_ptr<child_process> runtime_impl::start_child(bool daemon, std::string name) {
  auto child = std::make_shared<child_process>();
  child->daemon = daemon;
  child->name = std::move(name);
  std::promise<std::error_code> started;
  auto result = started.get_future();
  std::string detail;
  boost::asio::post(blocking().context(), [&] {
    spawned_worker w;
    auto ec = forkserver_ ? forkserver_->spawn(w, detail)
                          : spawn_process(spawn_role::worker, argv_, authkey_, w, detail);
    if (ec) {
      started.set_value(ec);
      return;
    }
    child->pid = w.pid;
    child->pidfd = std::make_unique<boost::asio::posix::stream_descriptor>(io_, w.pidfd);
    std::weak_ptr<child_process> weak = child;
    child->channel = std::make_shared<link>(
      *router_,
      [this](link& from, frame_kind kind, std::span<const char> payload) {
        return on_control(from, kind, payload);
      },
      [this, weak](link& l, std::error_code reason, std::string detail) {
        requests_.fail_all(l, static_cast<errc>(reason.value()), detail);
        block_holder_gone(l);
        auto c = weak.lock();
        if (!c)
          return;
        {
          std::lock_guard<std::mutex> guard{mtx_};
          c->link_closed = true;
        }
        cv_.notify_all();
        if (c->reaped)
          report_end(c);
      });
    lend_through(child->channel);
    connection::socket_type sock{io_};
    sock.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), w.link_fd);
    auto conn = connection::make(std::move(sock), link_settings(handshake_role::initiator),
                                 child->channel);
    child->channel->attach(conn);
    conn->start();
    watch_exit(child);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      children_.push_back(child);
    }
    started.set_value({});
  });
  if (auto ec = result.get())
    throw error(static_cast<errc>(ec.value()), "proctor: cannot start a worker: " + detail);
  return child;
}

void runtime_impl::watch_exit(const std::shared_ptr<child_process>& child) {
  child->pidfd->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this, child](const boost::system::error_code& ec) {
                             if (ec)
                               return;
                             finish_child(child);
                           });
}

void runtime_impl::run_blocking(std::function<void()> work) {
  boost::asio::post(blocking().context(), std::move(work));
}

std::shared_ptr<heap_trimmer> runtime_impl::trimmer() {
  auto& context = blocking().context();
  std::lock_guard<std::mutex> guard{blocking_mtx_};
  if (!trimmer_)
    trimmer_ = std::make_shared<heap_trimmer>(context);
  return trimmer_;
}

service_thread& runtime_impl::blocking() {
  std::lock_guard<std::mutex> guard{blocking_mtx_};
  if (!blocking_)
    blocking_.emplace();
  return *blocking_;
}

std::shared_ptr<pipe_broker> runtime_impl::pipes() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!pipes_)
    pipes_ = std::make_shared<pipe_broker>();
  return pipes_;
}

std::shared_ptr<ack_batcher> runtime_impl::acks() {
  std::lock_guard<std::mutex> guard{acks_mtx_};
  if (!acks_)
    acks_ = ack_batcher::make(*system_);
  return acks_;
}

void runtime_impl::send_acks() {
  std::shared_ptr<ack_batcher> batcher;
  {
    std::lock_guard<std::mutex> guard{acks_mtx_};
    batcher = acks_;
  }
  if (batcher)
    batcher->send_all();
}

void runtime_impl::finish_child(const std::shared_ptr<child_process>& child) {
  exit_status status;
  if (!reap(child->pid, status)) {
    watch_exit(child);
    return;
  }
  log("runtime", log_level::info, "worker ", child->pid, " ", status.to_string());
  child->reaped = status;
  {
    std::lock_guard<std::mutex> guard{child->mtx};
    child->pidfd.reset(); // no signal may reach a recycled pid
  }
  {
    // Before join() can return: a joined process is no active child.
    std::lock_guard<std::mutex> guard{mtx_};
    std::erase(children_, child);
  }
  if (child->link_closed)
    report_end(child);
  else
    // What it wrote before it exited is delivered first; then report_end.
    child->channel->close_when_drained(errc::connection_closed, "the worker exited");
}

void runtime_impl::report_end(const std::shared_ptr<child_process>& child) {
  router_->link_down(*child->channel, exit_error(child->pid, *child->reaped));
  std::shared_ptr<void> offers; // withdrawn outside the lock
  {
    std::lock_guard<std::mutex> guard{child->mtx};
    offers = std::move(child->offers);
  }
  child->end(*child->reaped);
}

} // namespace proctor::internal
