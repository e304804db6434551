#!/usr/bin/env python3
"""The longest silence in a `ping -D -i INTERVAL` log: what a guest saw of an outage.

  ping_gap.py PING_LOG INTERVAL   # prints: GAP_S LOST_RUN RECEIVED LAST_SEQ LAST_TIME

GAP_S: the longest time between two answered pings (from ping's -D timestamps, so a
ping that could not keep its interval under load does not make the outage look longer
than it was), minus one interval (two answers back to back are no gap). LOST_RUN: the
longest run of consecutive unanswered sequence numbers (x INTERVAL: the same outage seen
by the sequence numbers). LAST_TIME: when the last answer came (epoch seconds), so that
a caller can tell an outage that ended from one that outlasted the ping.
"""
import re
import sys

line_re = re.compile(r"^\[(\d+\.\d+)\].*icmp_seq=(\d+)")


def main(path, interval):
    answers = []
    with open(path) as f:
        for line in f:
            m = line_re.match(line)
            if m:
                answers.append((float(m.group(1)), int(m.group(2))))
    if len(answers) < 2:
        print(f"-1 -1 {len(answers)} -1 0")
        return 1
    gap = max(b[0] - a[0] for a, b in zip(answers, answers[1:])) - interval
    run = max(b[1] - a[1] - 1 for a, b in zip(answers, answers[1:]))
    print(f"{max(gap, 0):.3f} {run} {len(answers)} {answers[-1][1]} {answers[-1][0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
