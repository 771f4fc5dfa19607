// Nodes, the node's side: join the master, start, run and signal workers
// for it (reporting the end of the processes it runs),
// and when it is lost (killed, frozen, partitioned: the link's heartbeats
// tell), stop every worker, so that no orphan outlives its master on
// another host either, and try to join again for --proctor.rejoin-for.
// Threads: run_node blocks the main thread; the request handlers run on
// the io thread and hand starting a worker to a thread of its own.
#include "runtime/core/runtime_impl.hpp"

#include <csignal>
#include <thread>

#include <unistd.h>

#include <caf/blocking_actor.hpp>
#include <caf/spawn_options.hpp>

#include "actors/wire/codec.hpp"
#include "proctor/runtime.hpp"
#include "proctor/task.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/node/node_requests.hpp"
#include "runtime/node/sd_notify.hpp"
#include "transport/base/log.hpp"

namespace proctor::internal {

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0)
    return "localhost";
  return name;
}

} // namespace

caf::error not_from_master(std::string_view kind) {
  return make_caf_error(errc::bad_argument,
                        "request \"" + std::string{kind} + "\" is served to this node's master only");
}

bool runtime_impl::from_master(const link& l) {
  std::lock_guard<std::mutex> guard{mtx_};
  return master_link_.get() == &l;
}

bool runtime_impl::is_master(const std::weak_ptr<link>& l) {
  std::lock_guard<std::mutex> guard{mtx_};
  return master_link_ && master_link_ == l.lock();
}

template <class Request, class Start>
void runtime_impl::start_for_master(link& from,
                                    request_server::responder<typename Request::reply_type> respond,
                                    Start start) {
  if (!from_master(from)) {
    respond(not_from_master(Request::kind));
    return;
  }
  // Starting a worker blocks (and start_child uses the blocking thread).
  // (The unused int: CAF 0.17 spawns a function without arguments through
  // a null shared_ptr, which UBSan rejects.)
  auto run = [this, respond = std::move(respond), start = std::move(start),
              master = from.weak_from_this()](caf::blocking_actor*, int) {
    std::shared_ptr<child_process> child;
    try {
      auto reply = start(child, master);
      // The master may have been lost meanwhile: its workers were stopped,
      // and this one must not outlive it either.
      if (!is_master(master))
        throw error(errc::node_down, "proctor: the master was lost while starting");
      respond(std::move(reply));
    } catch (const std::exception& e) {
      if (child)
        child->signal(SIGKILL);
      auto* failure = dynamic_cast<const error*>(&e);
      respond(make_caf_error(failure ? failure->code() : errc::spawn_failed, e.what()));
    }
  };
  system_->spawn<caf::detached>(run, 0);
}

void runtime_impl::node_side_requests() {
  served_.serve_async<start_request>(
    [this](link& from, start_request& request,
           request_server::responder<start_request::reply_type> respond) {
      start_for_master<start_request>(
        from, std::move(respond),
        [this, request](std::shared_ptr<child_process>& child, const std::weak_ptr<link>&) {
          child = start_child(true, request.process_name);
          auto actor = spawn_in(*child, request.actor, request.args);
          return start_request::reply_type{{actor->node(), actor->id()},
                                           static_cast<std::uint32_t>(child->pid)};
        });
    });
  served_.serve_async<run_request>(
    [this](link& from, run_request& request,
           request_server::responder<run_request::reply_type> respond) {
      start_for_master<run_request>(
        from, std::move(respond),
        [this, request](std::shared_ptr<child_process>& child,
                        const std::weak_ptr<link>& master) {
          if (find_task(request.task) == nullptr)
            throw error(errc::unregistered_task,
                        "no PROCTOR_TASK named " + request.task + " in this binary");
          child = start_child(request.daemon, request.process_name);
          // Kept until it ends: the link's and the pidfd's handlers hold
          // a child only while they run.
          auto* kept = child.get();
          {
            std::lock_guard<std::mutex> guard{mtx_};
            run_for_master_[kept] = child;
          }
          child->when_ended([this, ref = request.ref, master, kept](const exit_status& how) {
            if (auto l = master.lock())
              requests_.post(*l, exit_report{ref, how.signaled, how.value});
            std::lock_guard<std::mutex> guard{mtx_};
            run_for_master_.erase(kept);
          });
          child->channel->send(frame_kind::run_task,
                               encode(request.task, request.process_name, request.args,
                                      request.parent_name));
          return run_request::reply_type{static_cast<std::uint32_t>(child->pid)};
        });
    });
  served_.serve<signal_request>([this](link& from, signal_request& request)
                                  -> caf::expected<signal_request::reply_type> {
    if (!from_master(from))
      return not_from_master(signal_request::kind);
    for (auto& child : live_children())
      if (child->pid == static_cast<pid_t>(request.pid)) {
        child->signal(request.sig);
        return signal_request::reply_type{};
      }
    return make_caf_error(errc::bad_argument,
                          "no worker of this node has pid " + std::to_string(request.pid));
  });
}

int runtime_impl::run_node() {
  auto host = host_name();
  auto cores = static_cast<std::uint32_t>(proctor::cpu_count());
  auto lost_at = std::chrono::steady_clock::now();
  for (;;) {
    std::shared_ptr<link> channel;
    try {
      // The link is the master's before the join is answered: the master
      // may send "start" right after its answer.
      channel = connect_peer(join_endpoint_, keys_, std::chrono::seconds{10});
      {
        std::lock_guard<std::mutex> guard{mtx_};
        master_link_ = channel;
      }
      auto reply = requests_.call(
        *channel, join_request{host, cores, static_cast<std::uint32_t>(::getpid())},
        std::chrono::seconds{10});
      if (!reply) {
        {
          std::lock_guard<std::mutex> guard{mtx_};
          master_link_.reset();
        }
        after_failed_ask(join_endpoint_, channel, reply.error());
        channel->close(errc::connection_closed, "the join failed");
        throw_failed_ask(join_endpoint_, reply.error());
      }
      log("node", log_level::info, "joined ", join_endpoint_, " as ", reply->id, " (incarnation ",
          reply->incarnation, ")");
      sd_notify("READY=1\nSTATUS=joined " + join_endpoint_ + " as " + reply->id);
    } catch (const error& e) {
      log("node", log_level::warning, "cannot join ", join_endpoint_, ": ", e.what());
      if (e.code() == errc::authentication_failed || e.code() == errc::fingerprint_mismatch
          || e.code() == errc::invalid_endpoint)
        return 2; // trying again cannot help
      if (std::chrono::steady_clock::now() - lost_at > rejoin_for_)
        return 1;
      std::this_thread::sleep_for(std::chrono::seconds{1});
      continue;
    }
    // Serve until the master is lost, telling systemd's watchdog (if any)
    // that this node lives while it holds its master.
    auto watchdog = watchdog_interval();
    auto fed = std::chrono::steady_clock::now();
    while (!channel->closed_reason().first) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      if (watchdog && std::chrono::steady_clock::now() - fed >= *watchdog) {
        sd_notify("WATCHDOG=1");
        fed = std::chrono::steady_clock::now();
      }
    }
    auto [reason, detail] = channel->closed_reason();
    log("node", log_level::warning, "lost the master at ", join_endpoint_, ": ",
        detail.empty() ? reason.message() : detail, "; stopping its workers");
    sd_notify("STATUS=lost the master; rejoining");
    {
      std::lock_guard<std::mutex> guard{mtx_};
      master_link_.reset();
    }
    for (auto& child : live_children())
      child->signal(SIGKILL);
    for (auto& child : live_children())
      child->wait(std::chrono::steady_clock::now() + std::chrono::seconds{10});
    lost_at = std::chrono::steady_clock::now();
  }
}

} // namespace proctor::internal
