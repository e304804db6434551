#pragma once
// `ivctl capture PORT [FILTER]`: a live capture written to stdout as pcap, e.g.
//   ivctl capture vm1 'tcp port 80' | tshark -r -
// It ends after `count` packets or `seconds` (0: no limit), on Ctrl-C, or when the reader
// of stdout goes away; the daemon then removes the capture.
#include <cstdint>
#include <string>

namespace ivs::cli {

struct CaptureOptions {
  std::string port, direction = "both", filter;
  uint32_t snaplen = 0;
  uint64_t count = 0;
  double seconds = 0;
};

// Returns the exit status (0: ended as asked or the reader left; 1: an error, on stderr).
int capture(const std::string& socket, const CaptureOptions& o);

}  // namespace ivs::cli
