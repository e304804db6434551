#pragma once
// Checks of the paths users give the switch, which runs as root: where it may write a
// file (a mirror's pcapng) and where it may put a socket (the control and channel
// sockets). Called by the config check (every load and reload) and by runtime requests
// (ivctl mirror add), so a bad path is refused at once with its reason, not found later
// in the log. Where files may go: docs/security.md, docs/mirrors.md.
#include <optional>
#include <string>

namespace ivs::config {

// A file the switch creates and writes (pcapng): an absolute path in an existing folder,
// not under /proc, /sys or /dev; if the path exists it must be a regular file (never a
// link, folder, socket, FIFO or device). nullopt: fine.
std::optional<std::string> output_file_problem(const std::string& path);

// A Unix socket the switch creates: an absolute path short enough for a socket address;
// if the path exists it must be a socket (a stale one is replaced; nothing else is).
std::optional<std::string> socket_path_problem(const std::string& path);

// True when a process accepts connections on the Unix socket at `path` (`type`:
// SOCK_STREAM, SOCK_SEQPACKET): another switch owns it, and it must not be replaced.
bool unix_socket_in_use(const std::string& path, int type);

// Opens `path` to write a file the switch owns, as output_file_problem allows: never
// follows a symbolic link, never opens a FIFO or device, never truncates a file with
// other hard links. Returns the fd (O_CLOEXEC, truncated) or -1 with errno set.
int open_output_file(const std::string& path);

}  // namespace ivs::config
