#pragma once
// One datapath thread's EtherType table (docs/ethertypes.md): a fixed-size open-addressing
// table of (port, VLAN, EtherType) entries, made by the control thread before the datapath
// thread starts and never resized. Per entry: frames, bytes, samples taken, and the last
// sample (MACs and the frame's first bytes) behind a sequence counter.
//
// Threads: one writer, the datapath thread that owns the stage (record()); any number of
// readers on control threads (for_each(), overflow()). No lock and no allocation on either
// side: counters are single-writer (common/counter.hpp); an entry's key is published with
// a release store after its slot is ready; a sample is written between two increments of
// its sequence counter (odd: being written) and a reader retries until it reads the same
// even value before and after its copy, so it never returns a torn sample.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "common/counter.hpp"

namespace ivs::ethertypes {

inline constexpr uint16_t kUntagged = 0xffff;  // the VLAN of a frame without an 802.1Q tag
inline constexpr size_t kSampleBytes = 56;     // the frame's first bytes kept by a sample

struct Key {
  uint16_t port;       // port index (forward::ForwardingTables)
  uint16_t vlan;       // the outer 802.1Q tag's VID, or kUntagged
  uint16_t ethertype;  // the EtherType after that tag (0: a frame too short to have one)
  uint64_t packed() const noexcept { return (uint64_t{port} << 32) | (uint64_t{vlan} << 16) | ethertype; }
  static Key unpack(uint64_t k) noexcept {
    return {static_cast<uint16_t>(k >> 32), static_cast<uint16_t>(k >> 16), static_cast<uint16_t>(k)};
  }
};

struct Sample {
  uint64_t tsc = 0;        // when it was taken (the datapath's TSC at the burst): the newest wins across threads
  uint32_t frame_len = 0;  // the whole frame's length
  uint16_t captured = 0;   // bytes of `head` that hold the frame (min(first segment, kSampleBytes))
  std::array<uint8_t, kSampleBytes> head{};  // dst MAC at 0, src MAC at 6, ...
};

// A single-writer sequence lock around a Sample, its bytes kept in relaxed atomic words
// so that a reader racing the writer reads stale or mixed words (and retries), never
// undefined behaviour.
class SampleSlot {
 public:
  // Where a unit test makes the race the sequence lock must survive, instead of waiting
  // for one: at(arg) is called halfway through copying the words (in write(): while the
  // sequence is odd; in read(): between two word loads). Never set by the daemon.
  struct Midway {  // {}: none
    void (*at)(void*);
    void* arg;
  };
  void write(const Sample& s, Midway mid = {}) noexcept;
  // The sample, or nullopt when none was taken yet or the writer kept it busy for every
  // retry (a reader gives up after a bounded number: it must not spin on a busy thread).
  std::optional<Sample> read(Midway mid = {}) const noexcept;

 private:
  static constexpr size_t kWords = (sizeof(Sample) + 7) / 8;
  std::atomic<uint32_t> seq_{0};  // odd while written; 0: never written
  std::array<std::atomic<uint64_t>, kWords> words_{};
};

struct Entry {
  std::atomic<uint64_t> key{0};  // Key::packed() | kUsed once published; 0: free
  Counter frames, bytes, samples;
  uint32_t countdown = 0;        // writer only: frames until the next sample (0: this one)
  SampleSlot sample;
  static constexpr uint64_t kUsed = uint64_t{1} << 63;
};

class Table {
 public:
  // Room for `max_entries` entries (in twice as many slots, so that a probe always ends at
  // a free slot) and the overflow counters of `ports` ports. Control thread, before start.
  Table(uint32_t max_entries, uint16_t ports);

  // Datapath thread: one frame received on `port`. `data`/`data_len`: its first segment.
  // Counts it in its entry (made on first sight), or in the port's overflow when the table
  // is full; takes a sample 1 in `sample_every` frames of the entry (0: never).
  void record(uint16_t port, const uint8_t* data, uint32_t data_len, uint32_t frame_len, uint32_t sample_every,
              uint64_t tsc) noexcept;

  // Readers (control threads).
  template <typename F>  // f(Key, const Entry&) for each published entry
  void for_each(F&& f) const {
    for (size_t i = 0; i <= mask_; ++i)
      if (const uint64_t k = slots_[i].key.load(std::memory_order_acquire); k & Entry::kUsed) f(Key::unpack(k & ~Entry::kUsed), slots_[i]);
  }
  uint64_t overflow_frames(uint16_t port) const { return port < ports_ ? overflow_[port].frames.get() : 0; }
  uint64_t overflow_bytes(uint16_t port) const { return port < ports_ ? overflow_[port].bytes.get() : 0; }
  uint32_t used() const { return used_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return max_entries_; }

  // What the stage classifies a frame as (pure; also for tests).
  static Key classify(uint16_t port, const uint8_t* data, uint32_t data_len) noexcept;

 private:
  struct Overflow {
    Counter frames, bytes;
  };
  uint32_t max_entries_;
  size_t mask_;
  uint16_t ports_;
  std::unique_ptr<Entry[]> slots_;
  std::unique_ptr<Overflow[]> overflow_;
  std::atomic<uint32_t> used_{0};  // written by the writer only
};

}  // namespace ivs::ethertypes
