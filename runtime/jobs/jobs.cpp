#include "proctor/jobs.hpp"

#include "runtime/jobs/jobs_core.hpp"

namespace proctor {

using internal::job_store;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

std::int64_t ms_since_epoch(system_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

system_clock::time_point time_of(std::int64_t ms) {
  return system_clock::time_point{milliseconds{ms}};
}

job_info info_of(const internal::job_record& r) {
  job_info i;
  i.id = r.id;
  i.task = r.task;
  i.key = r.key;
  i.state = static_cast<job_state>(r.state);
  i.priority = r.priority;
  i.attempts = r.attempts;
  i.max_attempts = r.max_attempts;
  i.run_at = time_of(r.run_at_ms);
  i.created = time_of(r.created_ms);
  i.finished = time_of(r.finished_ms);
  i.error = r.error;
  return i;
}

[[noreturn]] void no_such_job(std::uint64_t id) {
  throw error(errc::no_such_job, "proctor: no job " + std::to_string(id)
                                   + " in the store (never submitted, or purged)");
}

} // namespace

const char* to_string(job_state s) noexcept {
  switch (s) {
    case job_state::queued: return "queued";
    case job_state::running: return "running";
    case job_state::done: return "done";
    case job_state::dead: return "dead";
  }
  return "unknown";
}

jobs::jobs(runtime& rt, jobs_options options) {
  if (options.store.empty())
    throw error(errc::bad_argument, "proctor: jobs need a store (jobs_options::store)");
  core_ = std::make_unique<internal::jobs_core>(rt, std::move(options));
}

jobs::~jobs() = default;

std::vector<std::uint64_t> jobs::submit_calls(std::vector<internal::job_call> calls,
                                              const job_options& options, bool each) {
  auto now = ms_since_epoch(system_clock::now());
  std::vector<internal::job_spec> specs(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto& spec = specs[i];
    spec.task = std::move(calls[i].task);
    spec.args = std::move(calls[i].args);
    if (!options.key.empty())
      spec.key = each ? options.key + "/" + std::to_string(i) : options.key;
    spec.priority = options.priority;
    spec.run_at_ms = options.run_at == system_clock::time_point{}
                       ? now
                       : ms_since_epoch(options.run_at);
    spec.max_attempts = std::max<std::uint32_t>(options.max_attempts, 1);
    spec.timeout_ms = options.timeout ? std::max<std::int64_t>(options.timeout->count(), 1) : 0;
  }
  std::vector<std::uint64_t> ids;
  core_->call([&](job_store& s) { ids = s.enqueue(specs); }, true);
  return ids;
}

std::vector<char> jobs::result_bytes(std::uint64_t id, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::optional<internal::job_record> r;
    core_->call([&](job_store& s) { r = s.get(id); }, false);
    if (!r)
      no_such_job(id);
    if (r->state == internal::job_state::done)
      return std::move(r->result);
    if (r->state == internal::job_state::dead)
      throw job_dead(id, "proctor: job " + std::to_string(id) + " (" + r->task + ") is dead after "
                           + std::to_string(r->attempts) + " attempts: " + r->error);
    if (std::chrono::steady_clock::now() >= deadline)
      throw timeout_error("proctor: job " + std::to_string(id) + " is not done in time (it is "
                          + to_string(static_cast<job_state>(r->state)) + ")");
    core_->wait_change(deadline);
  }
}

job_info jobs::status(std::uint64_t id) {
  std::optional<internal::job_record> r;
  core_->call([&](job_store& s) { r = s.get(id); }, false);
  if (!r)
    no_such_job(id);
  return info_of(*r);
}

std::vector<job_info> jobs::list(job_state state, std::uint64_t after, std::size_t max) {
  std::vector<internal::job_record> rows;
  core_->call([&](job_store& s) {
    rows = s.list(static_cast<internal::job_state>(state), after, max);
  }, false);
  std::vector<job_info> out;
  out.reserve(rows.size());
  for (auto& r : rows)
    out.push_back(info_of(r));
  return out;
}

job_counts jobs::counts() {
  internal::job_counts c;
  core_->call([&](job_store& s) { c = s.counts(); }, false);
  job_counts out{c.queued, c.running, c.done, c.dead, milliseconds{0}};
  auto now = ms_since_epoch(system_clock::now());
  if (c.queued > 0 && c.oldest_due_ms < now)
    out.oldest_queued_age = milliseconds{now - c.oldest_due_ms};
  return out;
}

bool jobs::retry(std::uint64_t id) {
  bool again = false;
  core_->call([&](job_store& s) { again = s.requeue(id, ms_since_epoch(system_clock::now())); },
              true);
  return again;
}

std::uint64_t jobs::purge(milliseconds age, bool dead) {
  std::uint64_t n = 0;
  auto before = ms_since_epoch(system_clock::now()) - age.count();
  core_->call([&](job_store& s) { n = s.purge(before, dead); }, true);
  return n;
}

bool jobs::wait_idle(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool pending = true;
    core_->call([&](job_store& s) { pending = s.pending(); }, false);
    if (!pending)
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    core_->wait_change(deadline);
  }
}

} // namespace proctor
