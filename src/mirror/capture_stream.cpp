#include "mirror/capture_stream.hpp"

#include <cstring>

namespace ivs::mirror {

namespace {
void append32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }  // little endian host
void append16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;  // pcap with nanosecond timestamps
constexpr uint32_t kSnaplen = 262144, kLinktypeEthernet = 1;
}  // namespace

CaptureStream::CaptureStream(size_t capacity_bytes)
    : capacity_(capacity_bytes) {
  const std::string h = file_header();
  append32(pending_, static_cast<uint32_t>(h.size()));
  pending_ += h;
  frames_ = 1;
  queued_bytes_.store(pending_.size(), std::memory_order_relaxed);
}

std::string CaptureStream::file_header() {
  std::string h;
  append32(h, kPcapMagicNs);
  append16(h, 2);
  append16(h, 4);
  append32(h, 0);  // thiszone
  append32(h, 0);  // sigfigs
  append32(h, kSnaplen);
  append32(h, kLinktypeEthernet);
  return h;
}

bool CaptureStream::push(const rte_mbuf* copy, uint32_t orig_len, uint64_t tsc) noexcept {
  const uint32_t caplen = copy->pkt_len;
  const uint64_t ns = clock_.ns(tsc);
  std::lock_guard lock(mutex_);
  if (pending_.size() + 4 + 16 + caplen > capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  append32(pending_, 16 + caplen);
  append32(pending_, static_cast<uint32_t>(ns / 1'000'000'000u));
  append32(pending_, static_cast<uint32_t>(ns % 1'000'000'000u));
  append32(pending_, caplen);
  append32(pending_, orig_len);
  for (const rte_mbuf* s = copy; s; s = s->next) pending_.append(rte_pktmbuf_mtod(s, const char*), s->data_len);
  ++frames_;
  queued_bytes_.store(pending_.size(), std::memory_order_relaxed);
  delivered_.fetch_add(1, std::memory_order_relaxed);
  ready_.notify_one();
  return true;
}

size_t CaptureStream::take(std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [this] { return frames_ > 0 || closed_.load(); });
  if (out.empty()) out.swap(pending_);  // no copy under the lock the broker waits on
  else out += pending_;
  pending_.clear();
  queued_bytes_.store(0, std::memory_order_relaxed);
  const size_t n = frames_;
  frames_ = 0;
  return n;
}

}  // namespace ivs::mirror
