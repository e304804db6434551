#pragma once
// How datapath threads wake the policy thread when it sleeps. The policy thread naps
// briefly between rounds of work; after a while without work it sleeps on an eventfd
// (so that an idle switch costs next to nothing) and a datapath thread that queues an
// upcall meanwhile writes to it: one system call per wake-up, not per packet.
//
// No lost wake-up: the sleeper sets `asleep` and then looks at its rings once more; the
// datapath enqueues and then, after a full fence, reads `asleep` (store-load order).
//
// The core's (issue 17): the datapath threads wake whoever drains their upcall rings (the
// policy module's thread) without naming it.
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace ivs::pipeline {

class Wakeup {
 public:
  Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Wakeup() {
    if (fd_ >= 0) ::close(fd_);
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  // Datapath / control threads, after making work visible (an enqueue, a new policy).
  void notify() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // exchange: of all the upcalls queued while it sleeps, only the first writes
    if (!asleep_.load(std::memory_order_relaxed) || !asleep_.exchange(false, std::memory_order_acq_rel)) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof(one));
  }
  // Policy thread.
  void set_asleep(bool v) noexcept {
    asleep_.store(v, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // before it looks at the rings again
  }
  int fd() const { return fd_; }
  void drain() noexcept {
    uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(fd_, &v, sizeof(v));
  }

 private:
  int fd_;
  std::atomic<bool> asleep_{false};
};

}  // namespace ivs::pipeline
