#include "ethertypes/table.hpp"

#include <bit>

namespace ivs::ethertypes {

namespace {
constexpr uint16_t kVlanTpid = 0x8100;
constexpr int kReadRetries = 64;

uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

size_t hash(uint64_t k) noexcept {  // a multiplicative hash: keys differ in a few low bits
  return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 29);
}
}  // namespace

void SampleSlot::write(const Sample& s, Midway mid) noexcept {
  uint64_t w[kWords] = {};
  std::memcpy(w, &s, sizeof(s));
  const uint32_t q = seq_.load(std::memory_order_relaxed);
  seq_.store(q + 1, std::memory_order_relaxed);  // odd: readers retry
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kWords; ++i) {
    if (i == kWords / 2 && mid.at) [[unlikely]] mid.at(mid.arg);
    words_[i].store(w[i], std::memory_order_relaxed);
  }
  seq_.store(q + 2, std::memory_order_release);
}

std::optional<Sample> SampleSlot::read(Midway mid) const noexcept {
  for (int tries = 0; tries < kReadRetries; ++tries) {
    const uint32_t before = seq_.load(std::memory_order_acquire);
    if (before == 0) return std::nullopt;  // never written
    if (before & 1) continue;
    uint64_t w[kWords];
    for (size_t i = 0; i < kWords; ++i) {
      if (i == kWords / 2 && mid.at) [[unlikely]] mid.at(mid.arg);
      w[i] = words_[i].load(std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) != before) continue;
    Sample s;
    std::memcpy(&s, w, sizeof(s));
    return s;
  }
  return std::nullopt;
}

Table::Table(uint32_t max_entries, uint16_t ports)
    : max_entries_(max_entries),
      mask_(std::bit_ceil(size_t{max_entries} * 2) - 1),
      ports_(ports),
      slots_(new Entry[mask_ + 1]),
      overflow_(new Overflow[ports ? ports : 1]) {}

Key Table::classify(uint16_t port, const uint8_t* data, uint32_t data_len) noexcept {
  if (data_len < 14) return {port, kUntagged, 0};
  const uint16_t outer = be16(data + 12);
  if (outer != kVlanTpid) return {port, kUntagged, outer};
  if (data_len < 18) return {port, kUntagged, 0};  // a tag cut short: no EtherType to tell
  return {port, static_cast<uint16_t>(be16(data + 14) & 0x0fff), be16(data + 16)};
}

void Table::record(uint16_t port, const uint8_t* data, uint32_t data_len, uint32_t frame_len, uint32_t sample_every,
                   uint64_t tsc) noexcept {
  const uint64_t k = classify(port, data, data_len).packed() | Entry::kUsed;
  size_t i = hash(k) & mask_;
  Entry* e = nullptr;
  for (;;) {  // ends: at most max_entries_ of the 2 * max_entries_ slots are used
    const uint64_t at = slots_[i].key.load(std::memory_order_relaxed);  // this thread is the only writer
    if (at == k) {
      e = &slots_[i];
      break;
    }
    if (at == 0) {
      if (used_.load(std::memory_order_relaxed) >= max_entries_) {
        if (port < ports_) {
          overflow_[port].frames.inc();
          overflow_[port].bytes.add(frame_len);
        }
        return;
      }
      e = &slots_[i];
      used_.store(used_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      e->key.store(k, std::memory_order_release);  // its counters are 0 and its sample empty
      break;
    }
    i = (i + 1) & mask_;
  }
  e->frames.inc();
  e->bytes.add(frame_len);
  if (sample_every == 0) return;
  if (e->countdown == 0) {  // the entry's first frame, then 1 in sample_every
    Sample s;
    s.tsc = tsc;
    s.frame_len = frame_len;
    s.captured = static_cast<uint16_t>(data_len < kSampleBytes ? data_len : kSampleBytes);
    std::memcpy(s.head.data(), data, s.captured);
    e->sample.write(s);
    e->samples.inc();
    e->countdown = sample_every;
  }
  --e->countdown;
}

}  // namespace ivs::ethertypes
