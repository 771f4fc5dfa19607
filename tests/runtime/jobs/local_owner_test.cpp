// Who owns running jobs: this process is alive to itself; a process that
// ended, an owner of another boot, or one that does not parse is not.
#include "runtime/jobs/local_owner.hpp"

#include <gtest/gtest.h>

#include <string>

#include <sys/wait.h>
#include <unistd.h>

using proctor::internal::local_owner;
using proctor::internal::local_owner_alive;

namespace {

/// `owner` with its pid (the third field) and start time replaced.
std::string with_pid(const std::string& owner, pid_t pid, const std::string& start) {
  auto first = owner.find('/');
  auto second = owner.find('/', first + 1);
  return owner.substr(0, second + 1) + std::to_string(pid) + "/" + start;
}

} // namespace

TEST(local_owner, this_process_is_alive_and_an_ended_one_is_not) {
  auto me = local_owner();
  EXPECT_TRUE(local_owner_alive(me)) << me;
  auto child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(local_owner_alive(with_pid(me, child, "?")));
  // This pid, but another start: a process that used the pid before.
  EXPECT_FALSE(local_owner_alive(with_pid(me, ::getpid(), "1")));
}

TEST(local_owner, owners_of_another_boot_or_of_no_form_have_ended) {
  EXPECT_FALSE(local_owner_alive("another-boot/1/1/1"));
  EXPECT_FALSE(local_owner_alive(""));
  EXPECT_FALSE(local_owner_alive("no slashes"));
  auto me = local_owner();
  EXPECT_FALSE(local_owner_alive(with_pid(me, 0, "1")));
  EXPECT_FALSE(local_owner_alive(me.substr(0, me.find('/') + 1) + "x/y/z"));
}
