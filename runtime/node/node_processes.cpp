// A proctor::process placed on a node, the master's side (the node's is in
// node_agent.cpp). The master numbers each one (its ref), registers it
// before asking the node to run it, and ends it when the node reports its
// exit, or with SIGKILL's status when the node is lost: a node kills its
// workers when it loses its master, so a process there cannot outlive
// that. Threads: run_on_node blocks its caller; exit reports and node
// deaths are handled on the io thread, with mtx_ held only to update the
// table.
#include "runtime/core/runtime_impl.hpp"

#include <csignal>

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
}

} // namespace proctor::internal
