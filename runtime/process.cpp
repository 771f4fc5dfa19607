#include "proctor/process.hpp"

#include <atomic>
#include <csignal>

#include <caf/binary_serializer.hpp>

#include "runtime/runtime_impl.hpp"

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

process::process(process&&) noexcept = default;

process::~process() = default;

process& process::name(std::string value) {
  if (child_)
    throw error(errc::invalid_state, "proctor: cannot rename a started process");
  name_ = std::move(value);
  return *this;
}

process& process::daemon(bool value) {
  if (child_)
    throw error(errc::invalid_state, "proctor: cannot change daemon after start()");
  daemon_ = value;
  return *this;
}

void process::start() {
  if (child_)
    throw error(errc::invalid_state, "proctor: a process can be started only once");
  auto& impl = rt_->impl();
  auto child = impl.start_child(daemon_);
  std::vector<char> payload;
  caf::binary_serializer sink{nullptr, payload};
  auto task = task_->name;
  if (sink(task, name_, args_))
    throw error(errc::bad_argument, "proctor: cannot encode the process's target");
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
  require_started("join");
  child_->wait(std::nullopt);
}

bool process::join(std::chrono::steady_clock::duration timeout) {
  require_started("join");
  return child_->wait(std::chrono::steady_clock::now() + timeout);
}

bool process::is_alive() const {
  if (!child_)
    return false;
  std::lock_guard<std::mutex> guard{child_->mtx};
  return !child_->status.has_value();
}

void process::terminate() {
  if (child_)
    child_->signal(SIGTERM);
}

void process::kill() {
  if (child_)
    child_->signal(SIGKILL);
}

std::optional<int> process::exitcode() const {
  if (!child_)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{child_->mtx};
  if (!child_->status)
    return std::nullopt;
  return child_->status->python_exitcode();
}

int process::pid() const {
  return child_ ? static_cast<int>(child_->pid) : 0;
}

} // namespace proctor
