// proctor-jobs: looks inside a durable jobs store without SQL. STORE is a
// SQLite file's path, or a PostgreSQL database's connection string (a
// postgresql:// URI, or libpq's key=value words with host= or dbname=).
//
//   proctor-jobs STORE counts
//   proctor-jobs STORE list [queued|running|done|dead] [AFTER_ID] [MAX]
//   proctor-jobs STORE show ID
//   proctor-jobs STORE retry ID...        a dead job queued again, all attempts fresh
//   proctor-jobs STORE purge SECONDS [dead]
//                                         deletes done jobs (and dead ones) finished
//                                         more than SECONDS ago
//
// Exit codes: 0 done, 1 a job named is not there or not dead, 2 bad usage,
// 3 the store refused (its error is printed).
#include <proctor/proctor.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const char* usage = "usage: proctor-jobs STORE counts | list [STATE] [AFTER_ID] [MAX] | "
                    "show ID | retry ID... | purge SECONDS [dead]\n";

/// A PostgreSQL connection string rather than a file's path, by the rule
/// proctor::jobs_options::store gives.
bool names_a_server(const std::string& store) {
  return store.starts_with("postgresql://") || store.starts_with("postgres://")
         || store.find("dbname=") != std::string::npos
         || store.find("host=") != std::string::npos;
}

std::string when(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0)
    return "-";
  auto s = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&s, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::optional<proctor::job_state> state_named(const std::string& name) {
  for (auto s : {proctor::job_state::queued, proctor::job_state::running,
                 proctor::job_state::done, proctor::job_state::dead})
    if (name == proctor::to_string(s))
      return s;
  return std::nullopt;
}

std::uint64_t id_of(const std::string& text) {
  std::size_t end = 0;
  auto id = std::stoull(text, &end);
  if (end != text.size())
    throw std::invalid_argument{text};
  return id;
}

void print_row(const proctor::job_info& j) {
  std::printf("%-8llu %-8s %-24s %u/%u  %s  %s\n", static_cast<unsigned long long>(j.id),
              proctor::to_string(j.state), j.task.c_str(), j.attempts, j.max_attempts,
              j.key.empty() ? "-" : j.key.c_str(), j.error.c_str());
}

int run(proctor::jobs& jobs, const std::vector<std::string>& args) {
  auto& command = args.at(0);
  if (command == "counts") {
    auto c = jobs.counts();
    std::printf("queued %llu\nrunning %llu\ndone %llu\ndead %llu\noldest_queued_age_ms %lld\n",
                static_cast<unsigned long long>(c.queued),
                static_cast<unsigned long long>(c.running),
                static_cast<unsigned long long>(c.done), static_cast<unsigned long long>(c.dead),
                static_cast<long long>(c.oldest_queued_age.count()));
    return 0;
  }
  if (command == "list") {
    auto state = state_named(args.size() > 1 ? args[1] : "queued");
    if (!state) {
      std::fputs(usage, stderr);
      return 2;
    }
    auto after = args.size() > 2 ? id_of(args[2]) : 0;
    auto max = args.size() > 3 ? id_of(args[3]) : 100;
    for (auto& j : jobs.list(*state, after, max))
      print_row(j);
    return 0;
  }
  if (command == "show" && args.size() == 2) {
    auto j = jobs.status(id_of(args[1]));
    std::printf("id %llu\ntask %s\nkey %s\nstate %s\npriority %d\nattempts %u of %u\n"
                "created %s\nrun_at %s\nfinished %s\nerror %s\n",
                static_cast<unsigned long long>(j.id), j.task.c_str(),
                j.key.empty() ? "-" : j.key.c_str(), proctor::to_string(j.state), j.priority,
                j.attempts, j.max_attempts, when(j.created).c_str(), when(j.run_at).c_str(),
                when(j.finished).c_str(), j.error.empty() ? "-" : j.error.c_str());
    return 0;
  }
  if (command == "retry" && args.size() >= 2) {
    int code = 0;
    for (std::size_t i = 1; i < args.size(); ++i) {
      auto id = id_of(args[i]);
      if (jobs.retry(id)) {
        std::printf("%llu queued again\n", static_cast<unsigned long long>(id));
      } else {
        std::printf("%llu is not dead\n", static_cast<unsigned long long>(id));
        code = 1;
      }
    }
    return code;
  }
  if (command == "purge" && (args.size() == 2 || (args.size() == 3 && args[2] == "dead"))) {
    auto n = jobs.purge(std::chrono::seconds{id_of(args[1])}, args.size() == 3);
    std::printf("purged %llu\n", static_cast<unsigned long long>(n));
    return 0;
  }
  std::fputs(usage, stderr);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  if (!names_a_server(args[0]) && !std::filesystem::exists(args[0])) {
    // Opening would make an empty store: a mistyped path is an error.
    std::fprintf(stderr, "proctor-jobs: no store at %s\n", args[0].c_str());
    return 3;
  }
  try {
    proctor::jobs jobs{rt, {.store = args[0], .run = false}};
    return run(jobs, {args.begin() + 1, args.end()});
  } catch (const std::invalid_argument&) {
    std::fputs(usage, stderr);
    return 2;
  } catch (const std::out_of_range&) {
    std::fputs(usage, stderr);
    return 2;
  } catch (const proctor::error& e) {
    std::fprintf(stderr, "proctor-jobs: %s\n", e.what());
    return e.code() == proctor::errc::no_such_job ? 1 : 3;
  }
}
