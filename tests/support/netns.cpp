#include "tests/support/netns.hpp"

#include <chrono>
#include <filesystem>

#include <unistd.h>

#include "tests/support/subprocess.hpp"

namespace proctor::testing {

using namespace std::chrono_literals;

std::string ip_command() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (std::filesystem::exists(path))
      return path;
  return {};
}

std::string run_command(const std::vector<std::string>& argv) {
  subprocess command{argv};
  auto code = command.wait(30s);
  if (code == 0)
    return {};
  std::string text;
  for (auto& arg : argv)
    text += arg + " ";
  return text + "failed (" + (code ? std::to_string(*code) : "timed out") + "): " + command.err();
}

std::string netns_pair::unavailable() {
  if (::geteuid() != 0)
    return "network namespaces need root";
  if (ip_command().empty())
    return "iproute2's ip is not installed";
  return {};
}

netns_pair::netns_pair() {
  if (error_ = unavailable(); !error_.empty())
    return;
  auto pid = static_cast<unsigned>(::getpid());
  auto tag = std::to_string(pid);
  name_[0] = "proctor-" + tag + "-a";
  name_[1] = "proctor-" + tag + "-b";
  veth_[0] = "pva" + tag;
  veth_[1] = "pvb" + tag;
  subnet_ = "10." + std::to_string(100 + pid % 100) + "." + std::to_string(pid / 100 % 250) + ".";
  auto ip = ip_command();
  std::vector<std::vector<std::string>> steps{
    {ip, "netns", "add", name_[0]},
    {ip, "netns", "add", name_[1]},
    {ip, "link", "add", veth_[0], "type", "veth", "peer", "name", veth_[1]},
  };
  for (int host : {0, 1}) {
    steps.push_back({ip, "link", "set", veth_[host], "netns", name_[host]});
    steps.push_back({ip, "-n", name_[host], "addr", "add", address(host) + "/24", "dev",
                     veth_[host]});
    steps.push_back({ip, "-n", name_[host], "link", "set", veth_[host], "up"});
    steps.push_back({ip, "-n", name_[host], "link", "set", "lo", "up"});
  }
  for (auto& step : steps)
    if (error_ = run_command(step); !error_.empty())
      return;
}

netns_pair::~netns_pair() {
  auto ip = ip_command();
  if (ip.empty())
    return;
  for (auto& name : name_)
    if (!name.empty())
      run_command({ip, "netns", "del", name});
  // A veth left in the root namespace (a failed move) goes too.
  if (!veth_[0].empty() && std::filesystem::exists("/sys/class/net/" + veth_[0]))
    run_command({ip, "link", "del", veth_[0]});
}

std::string netns_pair::address(int host) const {
  return subnet_ + (host == 0 ? "1" : "2");
}

std::vector<std::string> netns_pair::in(int host, std::vector<std::string> argv) const {
  std::vector<std::string> out{ip_command(), "netns", "exec", name_[host]};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

bool netns_pair::set_link(bool up) {
  return run_command({ip_command(), "-n", name_[0], "link", "set", veth_[0], up ? "up" : "down"})
    .empty();
}

} // namespace proctor::testing
