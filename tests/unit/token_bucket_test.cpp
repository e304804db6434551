// The one token bucket (common/token_bucket.hpp) behind upcalls, reject replies and the
// channel: checked against exact arithmetic at the rates the config allows.
#include "common/token_bucket.hpp"

#include <gtest/gtest.h>

#include <random>

using ivs::TokenBucket;

namespace {

constexpr uint64_t kHz = 3'000'000'000;  // a 3 GHz TSC
constexpr uint64_t kMaxRate = 10'000'000;  // upcall_rate's upper bound (docs/config.md)
constexpr uint64_t kSecond = kHz;

// Takes every token there is at now; returns how many.
uint64_t drain(TokenBucket& b, uint64_t now, uint64_t rate, uint64_t burst, uint64_t hz = kHz) {
  uint64_t n = 0;
  while (b.take(now, rate, burst, hz)) ++n;
  return n;
}

// Whole tokens earned in `ticks` at `rate` per second: the exact reference.
uint64_t earned(uint64_t ticks, uint64_t rate, uint64_t hz) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ticks) * rate / hz);
}

}  // namespace

// Idle for hours at the highest rate: the bucket is exactly full. Gaps of k * 2^64 / rate
// ticks (here ~2 h) wrap a 64-bit `elapsed * rate` to almost nothing.
TEST(TokenBucket, LongGapAtHighestRateRefillsToBurst) {
  const uint64_t wraps = 12 * ((UINT64_C(1) << 63) / kMaxRate * 2 + 1);  // 12 * ceil(2^64 / 1e7)
  for (const uint64_t gap : {wraps, 3600 * kSecond, 3 * 3600 * kSecond, 100 * 3600 * kSecond}) {
    TokenBucket b;
    const uint64_t t0 = 1000 * kSecond;
    ASSERT_EQ(drain(b, t0, kMaxRate, kMaxRate), kMaxRate);
    EXPECT_EQ(drain(b, t0 + gap, kMaxRate, kMaxRate), kMaxRate) << "gap " << gap << " ticks";
    // And it goes on at the rate from there: half a second, half the tokens.
    EXPECT_EQ(drain(b, t0 + gap + kSecond / 2, kMaxRate, kMaxRate), kMaxRate / 2) << "gap " << gap << " ticks";
  }
}

// A fresh bucket is full at its first call and counts time from there, whatever the
// uptime: not from a zero last_tsc. kOddUptime (~0.75 years at 3 GHz) makes a 64-bit
// `uptime * 1e7` wrap to 128 ticks under one token's worth of credit.
TEST(TokenBucket, FreshBucketIsFullAndCountsFromItsFirstCall) {
  constexpr uint64_t kOddUptime = 71'173'072'659'593'863;
  for (const uint64_t uptime : {uint64_t{1}, kSecond, 600 * kSecond, 86400 * kSecond, kOddUptime}) {
    TokenBucket b;
    EXPECT_EQ(drain(b, uptime, kMaxRate, kMaxRate), kMaxRate) << "uptime " << uptime;
    EXPECT_EQ(drain(b, uptime + 1000, kMaxRate, kMaxRate), earned(1000, kMaxRate, kHz)) << "uptime " << uptime;  // 3.33 -> 3
    EXPECT_EQ(drain(b, uptime + 1300, kMaxRate, kMaxRate), 1u) << "uptime " << uptime;  // 4.33 -> the 4th
  }
  TokenBucket at_zero;  // an injected clock that starts at 0: still full
  EXPECT_EQ(drain(at_zero, 0, 1000, 50), 50u);
}

// Never more than the burst, however long the idle time; a full bucket keeps no fraction.
TEST(TokenBucket, HoldsAtMostTheBurst) {
  constexpr uint64_t kRate = 1000, kBurst = 50;  // the reply bucket's
  TokenBucket b;
  const uint64_t t0 = 5 * kSecond;
  ASSERT_EQ(drain(b, t0, kRate, kBurst), kBurst);
  for (const uint64_t idle : {kSecond / 20 - 1, kSecond / 20, kSecond, 3600 * kSecond, 400 * 86400 * kSecond}) {
    TokenBucket c = b;
    const uint64_t want = std::min(earned(idle, kRate, kHz), kBurst);
    EXPECT_EQ(drain(c, t0 + idle, kRate, kBurst), want) << "idle " << idle;
    // Full at t0 + idle: the next token comes one token's time later, not sooner.
    if (want == kBurst) {
      EXPECT_EQ(drain(c, t0 + idle + kHz / kRate - 1, kRate, kBurst), 0u) << "idle " << idle;
      EXPECT_EQ(drain(c, t0 + idle + kHz / kRate, kRate, kBurst), 1u) << "idle " << idle;
    }
  }
}

// Many small steps, each taking whatever is there: the tokens taken by time t are exactly
// floor((t - t0) * rate / hz), step sizes random (fixed seed) between 1 tick and two
// tokens' time, at TSC rates that rate does not divide.
TEST(TokenBucket, FractionsAreNotLostOverManySmallSteps) {
  struct Case {
    uint64_t rate, burst, hz;
    int steps;
  };
  for (const Case c : {Case{kMaxRate, kMaxRate, 2'994'374'000, 2'000'000}, Case{1000, 50, kHz, 200'000},
                       Case{200, 50, 2'100'000'007, 200'000}, Case{kMaxRate, kMaxRate, kHz, 1'000'000}}) {
    TokenBucket b;
    const uint64_t t0 = 7 * c.hz;
    ASSERT_EQ(drain(b, t0, c.rate, c.burst, c.hz), c.burst);
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<uint64_t> step(1, 2 * c.hz / c.rate);
    uint64_t t = t0, taken = 0;
    for (int i = 0; i < c.steps; ++i) {
      t += step(rng);
      taken += drain(b, t, c.rate, c.burst, c.hz);
      if (taken != earned(t - t0, c.rate, c.hz)) {
        ADD_FAILURE() << "rate " << c.rate << " hz " << c.hz << ": after step " << i << " (" << t - t0 << " ticks) took "
                      << taken << ", exact " << earned(t - t0, c.rate, c.hz);
        break;
      }
    }
  }
}

// Rate 0: the first burst, then nothing ever, however long the wait (no division by the
// rate anywhere, no refill).
TEST(TokenBucket, RateZeroGivesTheBurstOnce) {
  TokenBucket b;
  const uint64_t t0 = 3 * kSecond;
  EXPECT_EQ(drain(b, t0, 0, 5), 5u);
  for (const uint64_t later : {uint64_t{1}, kSecond, 86400 * kSecond}) EXPECT_EQ(drain(b, t0 + later, 0, 5), 0u) << later;
  TokenBucket none;  // burst 0 too: not even a first token
  EXPECT_EQ(drain(none, t0, 0, 0), 0u);
  EXPECT_EQ(drain(none, t0 + 86400 * kSecond, 0, 0), 0u);
}

// Burst 1: one token at a time, the next exactly one token's time after the last refill
// filled it (a full bucket keeps no fraction).
TEST(TokenBucket, BurstOneIsOneTokenPerPeriod) {
  constexpr uint64_t kRate = 1000, kPeriod = kHz / kRate;
  TokenBucket b;
  const uint64_t t0 = 9 * kSecond;
  EXPECT_EQ(drain(b, t0, kRate, 1), 1u);
  EXPECT_EQ(drain(b, t0 + kPeriod - 1, kRate, 1), 0u);
  EXPECT_EQ(drain(b, t0 + kPeriod, kRate, 1), 1u);
  EXPECT_EQ(drain(b, t0 + 100 * kPeriod, kRate, 1), 1u);  // 99 periods idle: still only one
  EXPECT_EQ(drain(b, t0 + 101 * kPeriod - 1, kRate, 1), 0u);
  EXPECT_EQ(drain(b, t0 + 101 * kPeriod, kRate, 1), 1u);
}

// A clock that goes backwards (an injected clock; never one thread's TSC) adds nothing,
// takes nothing back, and the bucket counts on from the latest time it saw, not from the
// earlier one (which would pay the same interval twice).
TEST(TokenBucket, ClockGoingBackwardsAddsNothing) {
  constexpr uint64_t kRate = 1000, kBurst = 50, kPeriod = kHz / kRate;
  TokenBucket b;
  const uint64_t t0 = 20 * kSecond;
  ASSERT_EQ(drain(b, t0, kRate, kBurst), kBurst);
  EXPECT_EQ(drain(b, t0 + 10 * kPeriod, kRate, kBurst), 10u);
  EXPECT_EQ(drain(b, t0, kRate, kBurst), 0u);                        // back 10 periods
  EXPECT_EQ(drain(b, t0 + 5 * kPeriod, kRate, kBurst), 0u);          // still before the latest
  EXPECT_EQ(drain(b, t0 + 10 * kPeriod, kRate, kBurst), 0u);         // the latest again
  EXPECT_EQ(drain(b, t0 + 13 * kPeriod, kRate, kBurst), 3u);         // 3 periods after it
  TokenBucket c;  // credit held across a step back is kept
  ASSERT_EQ(drain(c, t0, kRate, kBurst), kBurst);
  ASSERT_TRUE(c.take(t0 + 7 * kPeriod, kRate, kBurst, kHz));         // 7 earned, 1 taken
  EXPECT_EQ(drain(c, t0 + kPeriod, kRate, kBurst), 6u);
}
