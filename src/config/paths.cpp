#include "config/paths.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace ivs::config {
namespace {

// The folder of `path` (which is absolute); "/" for a file in the root.
std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

bool under(const std::string& dir, const char* top) {
  const size_t n = std::strlen(top);
  return dir.compare(0, n, top) == 0 && (dir.size() == n || dir[n] == '/');
}

}  // namespace

std::optional<std::string> output_file_problem(const std::string& path) {
  if (path.empty()) return "a file path is required";
  if (path[0] != '/') return fmt::format("'{}' is not an absolute path", path);
  if (path.size() >= PATH_MAX) return fmt::format("the path is longer than {} bytes", PATH_MAX - 1);
  if (path.back() == '/') return fmt::format("'{}' names a folder, not a file", path);
  const std::string dir = parent_of(path);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return fmt::format("folder {} does not exist ({})", dir, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a folder", dir);
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) return fmt::format("folder {}: {}", dir, std::strerror(errno));
  for (const char* top : {"/proc", "/sys", "/dev"})
    if (under(real, top)) return fmt::format("{} is under {} (kernel and device files are not written)", path, top);
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return fmt::format("{} is a symbolic link; the switch does not follow links", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("{} exists and is not a regular file (a folder, socket, FIFO or device)", path);
    if (st.st_nlink > 1) return fmt::format("{} has other hard links; the switch does not overwrite it", path);
  } else if (errno != ENOENT) {
    return fmt::format("{}: {}", path, std::strerror(errno));
  }
  return std::nullopt;
}

std::optional<std::string> socket_path_problem(const std::string& path) {
  if (path.empty()) return "a socket path is required";
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return fmt::format("'{}' is longer than the {} bytes a Unix socket path may have", path, sizeof(sockaddr_un{}.sun_path) - 1);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
    return fmt::format("{} exists and is not a socket; the switch replaces only a stale socket", path);
  return std::nullopt;
}

bool unix_socket_in_use(const std::string& path, int type) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return used;
}

int open_output_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO put there since the check fails instead of hanging.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
  if (fd < 0) return -1;
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
    ::close(fd);
    errno = EPERM;
    return -1;
  }
  if (::ftruncate(fd, 0) != 0 || ::fcntl(fd, F_SETFL, 0) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace ivs::config
