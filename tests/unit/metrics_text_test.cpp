// /metrics label values (control/views.cpp): the text format's escapes, since tools are
// described by file paths that may hold any character (tests/integration/prometheus_test.sh
// has a real Prometheus refuse the unescaped form).
#include <gtest/gtest.h>

#include "control/views.hpp"

namespace ivs::control {
namespace {

TEST(MetricsText, LabelValuesAreEscaped) {
  EXPECT_EQ(label_value("pcapng /var/lib/ivswitch/web.pcapng"), "pcapng /var/lib/ivswitch/web.pcapng");
  EXPECT_EQ(label_value("we\"ird\\name"), "we\\\"ird\\\\name");
  EXPECT_EQ(label_value("two\nlines"), "two\\nlines");
  EXPECT_EQ(label_value(""), "");
}

}  // namespace
}  // namespace ivs::control
