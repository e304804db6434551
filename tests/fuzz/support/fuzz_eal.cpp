#include "support/fuzz_eal.hpp"

#include <rte_eal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace ivs::fuzz {

namespace {
bool g_eal_up = false;

void eal_down() {
  const std::string dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // leave nothing in /var/run/dpdk
}
}  // namespace

void eal_up(const char* lcores) {
  if (g_eal_up) return;
  const std::string prefix = "ivs_fuzz_" + std::to_string(getpid());
  std::vector<std::string> args = {"ivs_fuzz", "--no-huge", "--no-shconf", "-m", "512", "--no-pci", "-l", lcores,
                                   "--file-prefix", prefix, "--log-level", "*:error"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "fuzz: EAL init failed\n");
    std::abort();
  }
  g_eal_up = true;
  std::atexit(eal_down);
}

HeapMbuf::HeapMbuf(std::span<const uint8_t> frame, std::span<const uint32_t> cuts, uint16_t headroom, uint16_t tailroom) {
  std::vector<uint32_t> bounds{0};
  for (uint32_t c : cuts)
    if (c > bounds.back() && c < frame.size()) bounds.push_back(c);
  bounds.push_back(static_cast<uint32_t>(frame.size()));
  const size_t n = bounds.size() - 1;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t len = bounds[i + 1] - bounds[i];
    const uint16_t head = i == 0 ? headroom : 0, tail = i + 1 == n ? tailroom : 0;
    const size_t buf_len = size_t{head} + len + tail;
    auto buf = std::make_unique<uint8_t[]>(buf_len ? buf_len : 1);
    if (len) std::memcpy(buf.get() + head, frame.data() + bounds[i], len);
    auto m = std::make_unique<rte_mbuf>();
    std::memset(m.get(), 0, sizeof(rte_mbuf));
    m->buf_addr = buf.get();
    m->buf_len = static_cast<uint16_t>(buf_len);
    m->data_off = head;
    m->data_len = static_cast<uint16_t>(len);
    m->nb_segs = 1;
    m->port = 0;
    rte_mbuf_refcnt_set(m.get(), 1);
    if (!segs_.empty()) segs_.back()->next = m.get();
    segs_.push_back(std::move(m));
    bufs_.push_back(std::move(buf));
  }
  segs_.front()->nb_segs = static_cast<uint16_t>(n);
  segs_.front()->pkt_len = static_cast<uint32_t>(frame.size());
}

HeapMbuf::~HeapMbuf() = default;

std::vector<uint8_t> HeapMbuf::bytes() const {
  std::vector<uint8_t> out;
  for (const rte_mbuf* s = segs_.front().get(); s; s = s->next) {
    const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
    out.insert(out.end(), p, p + s->data_len);
  }
  return out;
}

}  // namespace ivs::fuzz
