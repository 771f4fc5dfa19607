// A proctor::process placed on a node, both sides. The master numbers each
// one (its ref), registers it before asking the node to run it, and ends
// it when the node reports its exit, or with SIGKILL's status when the
// node is lost: a node kills its workers when it loses its master, so a
// process there cannot outlive that. Threads: run_on_node blocks its
// caller; exit reports and node deaths are handled on the io thread, with
// mtx_ held only to update the table; the node starts the worker on a
// thread of its own and reports its end from its io thread.
#include "runtime/core/runtime_impl.hpp"

#include <csignal>

#include <caf/blocking_actor.hpp>
#include <caf/spawn_options.hpp>

#include "actors/wire/codec.hpp"
#include "proctor/task.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/node/node_requests.hpp"

namespace proctor::internal {

// -- master side --------------------------------------------------------------

std::shared_ptr<child_process> runtime_impl::run_on_node(const std::string& id,
                                                         run_request request) {
  auto channel = live_node_link(id);
  auto child = std::make_shared<child_process>();
  child->daemon = request.daemon;
  child->name = request.process_name;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    request.ref = ++last_remote_ref_;
    remote_children_[request.ref] = {channel.get(), child};
  }
  auto reply = requests_.call(*channel, request, std::chrono::seconds{60});
  if (!reply) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      remote_children_.erase(request.ref);
    }
    auto [code, detail] = parts_of(reply.error(), *system_);
    if (means_actor_gone(reply.error()))
      throw error(errc::node_down, "proctor: node " + id + " is gone: " + detail);
    throw_error(code, "proctor: node " + id + ": " + detail);
  }
  {
    std::lock_guard<std::mutex> guard{child->mtx};
    child->pid = static_cast<pid_t>(reply->pid);
    child->remote = node_worker(channel, id, reply->pid);
  }
  return child;
}

std::vector<std::shared_ptr<child_process>> runtime_impl::remote_children() {
  std::vector<std::shared_ptr<child_process>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [ref, entry] : remote_children_)
    out.push_back(entry.child);
  return out;
}

void runtime_impl::lose_node_processes(const link& l) {
  std::vector<std::shared_ptr<child_process>> lost;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    std::erase_if(remote_children_, [&](auto& entry) {
      if (entry.second.node_link != &l)
        return false;
      lost.push_back(entry.second.child);
      return true;
    });
  }
  for (auto& child : lost)
    child->end(exit_status{true, SIGKILL});
}

void runtime_impl::serve_node_processes() {
  served_.serve<exit_report>([this](link& from, exit_report& report)
                               -> caf::expected<exit_report::reply_type> {
    std::shared_ptr<child_process> child;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = remote_children_.find(report.ref);
      // Only the node that runs it may end it.
      if (i == remote_children_.end() || i->second.node_link != &from)
        return make_caf_error(errc::bad_argument, "no process " + std::to_string(report.ref)
                                                    + " runs on this link's node");
      child = std::move(i->second.child);
      remote_children_.erase(i);
    }
    child->end(exit_status{report.signaled, report.value});
    return exit_report::reply_type{};
  });

  // -- node side --------------------------------------------------------------

  served_.serve_async<run_request>(
    [this](link& from, run_request& request,
           request_server::responder<run_request::reply_type> respond) {
      if (!from_master(from)) {
        respond(not_from_master(run_request::kind));
        return;
      }
      if (find_task(request.task) == nullptr) {
        respond(make_caf_error(errc::unregistered_task,
                               "no PROCTOR_TASK named " + request.task + " in this binary"));
        return;
      }
      // Starting a worker blocks (see node_side_requests).
      auto start = [this, request, respond = std::move(respond),
                    master = from.weak_from_this()](caf::blocking_actor*, int) {
        std::shared_ptr<child_process> child;
        try {
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
          if (!is_master(master))
            throw error(errc::node_down, "proctor: the master was lost while starting");
          respond(run_request::reply_type{static_cast<std::uint32_t>(child->pid)});
        } catch (const std::exception& e) {
          if (child)
            child->signal(SIGKILL);
          auto* failure = dynamic_cast<const error*>(&e);
          respond(make_caf_error(failure ? failure->code() : errc::spawn_failed, e.what()));
        }
      };
      system_->spawn<caf::detached>(start, 0);
    });
}

} // namespace proctor::internal
