#include "flow/flow_snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "flow/flow_table.hpp"

namespace ivs::flow {

namespace {

constexpr char kMagic[8] = {'I', 'V', 'S', 'F', 'L', 'O', 'W', 'S'};
constexpr size_t kMaxName = 255;
constexpr size_t kMaxNames = 65535;  // an index is a u16

uint64_t fnv1a(std::span<const uint8_t> b) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

struct Writer {
  std::vector<uint8_t> out;
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { for (int i = 0; i < 2; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void u32(uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void u64(uint64_t v) { for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void bytes(const void* p, size_t n) { out.insert(out.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); }
  void names(const std::vector<std::string>& v) {
    u32(static_cast<uint32_t>(v.size()));
    for (const auto& n : v) {
      const size_t len = std::min(n.size(), kMaxName);
      u8(static_cast<uint8_t>(len));
      bytes(n.data(), len);
    }
  }
};

// Every read is bounds-checked; a short read marks the reader failed and yields zeros.
struct Reader {
  std::span<const uint8_t> in;
  size_t at = 0;
  bool ok = true;
  bool take(void* p, size_t n) {
    if (!ok || in.size() - at < n) {
      ok = false;
      std::memset(p, 0, n);
      return false;
    }
    std::memcpy(p, in.data() + at, n);
    at += n;
    return true;
  }
  uint64_t le(size_t n) {
    uint8_t b[8] = {};
    take(b, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{b[i]} << (8 * i);
    return v;
  }
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  bool names(std::vector<std::string>& v) {
    const uint32_t n = u32();
    if (!ok || n > kMaxNames || n > in.size() - at) return ok = false;
    v.resize(n);
    for (auto& s : v) {
      const uint8_t len = u8();
      s.resize(len);
      if (!take(s.data(), len)) return false;
    }
    return ok;
  }
};

// What a saved flow's key and fields must be, or why not: a key as make_key() writes
// them (family 4 or 6, padding and IPv4's unused address bytes zero) and, for TCP/UDP,
// the first packet's ports (what the policy decides on) its key's ports in its direction.
const char* flow_fault(const SavedFlow& f, size_t n_ports, size_t n_networks) {
  const FlowKey& k = f.key;
  if (f.initiator > 1) return "a flow's initiator is neither direction";
  if (f.state > static_cast<uint8_t>(FlowState::kViaDevice)) return "a flow's state is unknown";
  if (f.network >= n_networks || f.first_port >= n_ports) return "a flow refers to a port or network the file does not name";
  if (k.family != 4 && k.family != 6) return "a flow's key is of no address family";
  for (uint8_t b : k.pad)
    if (b) return "a flow's key has padding set";
  if (k.family == 4)
    for (const auto& a : k.addr)
      for (size_t i = 4; i < sizeof(a); ++i)
        if (a[i]) return "a flow's IPv4 key has bytes set past its addresses";
  if ((k.proto == 6 || k.proto == 17) && (f.first_sport != k.port[f.initiator] || f.first_dport != k.port[1 - f.initiator]))
    return "a flow's first ports are not its key's";
  return nullptr;
}

}  // namespace

std::vector<uint8_t> serialize_flow_snapshot(const FlowSnapshot& s) {
  Writer w;
  w.out.reserve(64 + s.flows.size() * kSavedFlowBytes);
  w.bytes(kMagic, sizeof(kMagic));
  w.u32(kFlowSnapshotVersion);
  w.u32(0);
  w.u64(s.policy_digest);
  w.u32(s.epoch);
  w.names(s.ports);
  w.names(s.networks);
  w.u32(static_cast<uint32_t>(s.flows.size()));
  for (const SavedFlow& f : s.flows) {
    w.bytes(&f.key, sizeof(f.key));
    w.u8(f.state);
    w.u8(f.initiator);
    w.u16(f.network);
    w.u16(f.first_port);
    w.u16(f.first_sport);
    w.u16(f.first_dport);
    w.u32(static_cast<uint32_t>(f.rule));
    w.u32(f.epoch);
    w.u8(f.tcp_flags[0]);
    w.u8(f.tcp_flags[1]);
    w.u64(f.slot_word[0]);
    w.u64(f.slot_word[1]);
  }
  w.u64(fnv1a(w.out));
  return w.out;
}
static_assert(kSavedFlowBytes == sizeof(FlowKey) + 1 + 1 + 2 + 2 + 2 + 2 + 4 + 4 + 2 + 16);

std::expected<FlowSnapshot, std::string> parse_flow_snapshot(std::span<const uint8_t> bytes, size_t max_flows) {
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return std::unexpected("not a flow file (no IVSFLOWS header)");
  if (bytes.size() < sizeof(kMagic) + 4 + 8) return std::unexpected("truncated");
  Reader r{bytes.subspan(0, bytes.size() - std::min<size_t>(bytes.size(), 8))};
  r.at = sizeof(kMagic);
  const uint32_t version = r.u32();
  if (version != kFlowSnapshotVersion) return std::unexpected(fmt::format("format version {}, this ivswitchd reads {}", version, kFlowSnapshotVersion));
  uint64_t sum = 0;
  for (size_t i = 0; i < 8; ++i) sum |= uint64_t{bytes[bytes.size() - 8 + i]} << (8 * i);
  if (sum != fnv1a(r.in)) return std::unexpected("checksum mismatch (truncated or corrupt)");
  FlowSnapshot s;
  if (r.u32() != 0) return std::unexpected("unknown flags");
  s.policy_digest = r.u64();
  s.epoch = r.u32();
  if (!r.names(s.ports) || !r.names(s.networks)) return std::unexpected("truncated name tables");
  const uint32_t n = r.u32();
  if (!r.ok) return std::unexpected("truncated");
  if (n > max_flows) return std::unexpected(fmt::format("{} flows, more than the table holds ({})", n, max_flows));
  if (static_cast<uint64_t>(n) * kSavedFlowBytes != r.in.size() - r.at)
    return std::unexpected(fmt::format("{} flows announced, {} bytes of them", n, r.in.size() - r.at));
  s.flows.resize(n);
  for (SavedFlow& f : s.flows) {
    r.take(&f.key, sizeof(f.key));
    f.state = r.u8();
    f.initiator = r.u8();
    f.network = r.u16();
    f.first_port = r.u16();
    f.first_sport = r.u16();
    f.first_dport = r.u16();
    f.rule = static_cast<int32_t>(r.u32());
    f.epoch = r.u32();
    f.tcp_flags[0] = r.u8();
    f.tcp_flags[1] = r.u8();
    f.slot_word[0] = r.u64();
    f.slot_word[1] = r.u64();
    if (const char* why = flow_fault(f, s.ports.size(), s.networks.size())) return std::unexpected(why);
  }
  if (!r.ok) return std::unexpected("truncated");
  return s;
}

std::expected<void, std::string> write_flow_snapshot(const std::string& path, const FlowSnapshot& s) {
  const std::vector<uint8_t> bytes = serialize_flow_snapshot(s);
  const std::string tmp = path + ".tmp";
  // A fresh file: whatever sits at the temporary name (a link, a file someone else made)
  // is removed first and never written through.
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return std::unexpected(fmt::format("{}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t k = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return std::unexpected(fmt::format("{}: {}", tmp, std::strerror(err)));
    }
    done += static_cast<size_t>(k);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(fmt::format("{}: {}", path, std::strerror(err)));
  }
  return {};
}

std::expected<FlowSnapshot, SnapshotReadError> read_flow_snapshot(const std::string& path, size_t max_flows) {
  // O_NONBLOCK: a FIFO put there does not hang the start; O_NOFOLLOW: no symlink.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::unexpected(SnapshotReadError{errno == ENOENT, fmt::format("{}: {}", path, std::strerror(errno))});
  struct stat st{};
  const size_t bound = 64 + 2 * 4 * (kMaxName + 1) * 1024 + max_flows * kSavedFlowBytes;
  // Only a file this switch could have written (as config/paths.cpp's outputs): regular,
  // one link, ours, writable by no one else.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) || static_cast<uint64_t>(st.st_size) > bound) {
    ::close(fd);
    return std::unexpected(SnapshotReadError{false, fmt::format("{}: not a regular file with one link, owned by uid {}, "
                                                                "not group/other-writable, of at most {} bytes",
                                                                path, ::geteuid(), bound)});
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t k = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    done += static_cast<size_t>(k);
  }
  ::close(fd);
  bytes.resize(done);
  auto s = parse_flow_snapshot(bytes, max_flows);
  if (!s) return std::unexpected(SnapshotReadError{false, fmt::format("{}: {}", path, s.error())});
  return std::move(*s);
}

}  // namespace ivs::flow
