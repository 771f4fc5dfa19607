#include "proctor/process.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>


#include "actors/wire/codec.hpp"
#include "runtime/core/runtime_impl.hpp"
#include "runtime/node/node_requests.hpp"

namespace proctor {

namespace {

std::atomic<int> process_counter{0};

} // namespace

process::process(runtime& rt, internal::bound_task bound)
  : rt_(&rt),
    task_(bound.entry),
    args_(std::move(bound.args)),
    offers_(std::move(bound.offers)),
    name_("Process-" + std::to_string(++process_counter)) {
}

process::process(process&& other) noexcept
  : rt_(other.rt_),
    task_(other.task_),
    args_(std::move(other.args_)),
    offers_(std::move(other.offers_)),
    name_(std::move(other.name_)),
    node_(std::move(other.node_)),
    daemon_(other.daemon_),
    child_(std::move(other.child_)),
    closed_(other.closed_),
    sentinel_(std::exchange(other.sentinel_, -1)) {
}

process::~process() {
  if (sentinel_ >= 0)
    ::close(sentinel_);
}

void process::require_open() const {
  if (closed_)
    throw error(errc::invalid_state, "proctor: the process object is closed");
}

int process::sentinel() const {
  require_open();
  require_started("watch");
  if (sentinel_ >= 0)
    return sentinel_;
  {
    // The runtime's pidfd goes when the process is reaped: a duplicate of
    // it while it is there.
    std::lock_guard<std::mutex> guard{child_->mtx};
    if (child_->pidfd)
      sentinel_ = ::fcntl(child_->pidfd->native_handle(), F_DUPFD_CLOEXEC, 0);
  }
  // A process on a node, or one reaped already: an event set at its end.
  if (sentinel_ < 0)
    sentinel_ = child_->ended_descriptor();
  if (sentinel_ < 0)
    throw error(errc::invalid_state, std::string{"proctor: no sentinel: "} + std::strerror(errno));
  return sentinel_;
}

void process::close() {
  if (closed_)
    return;
  if (is_alive())
    throw error(errc::invalid_state, "proctor: cannot close a process that is still running");
  closed_ = true;
  pid_after_close_ = pid();
  child_.reset();
  offers_.reset();
  if (sentinel_ >= 0)
    ::close(std::exchange(sentinel_, -1));
}

process& process::name(std::string value) {
  if (child_)
    throw error(errc::invalid_state, "proctor: cannot rename a started process");
  name_ = std::move(value);
  return *this;
}

process& process::node(std::string id) {
  if (child_)
    throw error(errc::invalid_state, "proctor: cannot move a started process");
  node_ = std::move(id);
  return *this;
}

process& process::daemon(bool value) {
  if (child_)
    throw error(errc::invalid_state, "proctor: cannot change daemon after start()");
  daemon_ = value;
  return *this;
}

void process::start() {
  require_open();
  if (child_)
    throw error(errc::invalid_state, "proctor: a process can be started only once");
  auto& impl = internal::impl_of(*rt_);
  auto task = task_->name;
  auto parent = impl.process_name;
  if (!node_.empty()) {
    if (offers_)
      throw error(errc::bad_argument,
                  "proctor: pipe ends cannot be passed to a process on a node");
    child_ = impl.run_on_node(node_, {0, task, name_, args_, parent, daemon_});
    return;
  }
  auto child = impl.start_child(daemon_, name_);
  auto payload = internal::encode(task, name_, args_, parent);
  {
    // The io thread drops them when the process ends, which may be at once.
    std::lock_guard<std::mutex> guard{child->mtx};
    child->offers = std::move(offers_);
  }
  child->channel->send(internal::frame_kind::run_task, payload);
  child_ = std::move(child);
}

void process::require_started(const char* what) const {
  if (!child_)
    throw error(errc::invalid_state, std::string{"proctor: can only "} + what
                                       + " a started process");
}

void process::join() {
  require_open();
  require_started("join");
  child_->wait(std::nullopt);
}

bool process::join(std::chrono::steady_clock::duration timeout) {
  require_open();
  require_started("join");
  return child_->wait(std::chrono::steady_clock::now() + timeout);
}

bool process::is_alive() const {
  require_open();
  if (!child_)
    return false;
  std::lock_guard<std::mutex> guard{child_->mtx};
  return !child_->status.has_value();
}

void process::terminate() {
  require_open();
  if (child_)
    child_->signal(SIGTERM);
}

void process::kill() {
  require_open();
  if (child_)
    child_->signal(SIGKILL);
}

std::optional<int> process::exitcode() const {
  require_open();
  if (!child_)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{child_->mtx};
  if (!child_->status)
    return std::nullopt;
  return child_->status->python_exitcode();
}

int process::pid() const {
  return child_ ? static_cast<int>(child_->pid) : pid_after_close_;
}

std::vector<process_info> active_children() {
  std::vector<process_info> out;
  if (auto* rt = internal::current_runtime())
    for (auto& child : rt->live_children())
      out.push_back({child->name, static_cast<int>(child->pid)});
  return out;
}

std::optional<process_info> parent_process() {
  auto* rt = internal::current_runtime();
  if (rt == nullptr || rt->role() == internal::process_role::master)
    return std::nullopt;
  return process_info{rt->parent_name, static_cast<int>(::getppid())};
}

} // namespace proctor
