#!/usr/bin/env python3
"""Judges the IPFIX records a collector decoded against the switch's own view of the
flows (`ivctl --json show flows`, taken after each piece of traffic, before expiry).

  flowexport_check.py nfdump NFDUMP.json FLOWS.json...   # nfdump -r FILE -o json
  flowexport_check.py tshark TSHARK.json FLOWS.json...   # tshark -T json --no-duplicate-keys

nfdump: every record has its standard fields (addresses, protocol, ports, interfaces, VLAN,
times, packets, bytes); the records of each flow direction add up to the packets and bytes
`show flows` counted; no record belongs to no flow.
tshark: every data record carries the enterprise fields, and they say what `show flows`
says of that flow direction (state, verdict, rule, epoch, DSCP assigned/observed, mirrors,
initiator, chain packets); records of a denied flow, of rule pg, with an assigned DSCP and
with a mirror are among them.
"""
import ipaddress
import json
import sys
from collections import defaultdict

STATES = ["allowed", "denied", "rejected", "pending", "verified", "via-device"]
ACTIONS = ["allow", "drop", "reject", "inspect"]


def endpoint(s):
    """'10.0.1.11:40000' / '[fd00::1]:0' -> (address, port)"""
    host, port = s.rsplit(":", 1)
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def load_flows(files):
    """Flow directions by (protocol, source, destination, TCP/UDP ports), with the counters
    of the last snapshot of each flow. ICMP records carry the type, not the echo id of the
    flow key: the ICMP flows between two addresses are summed."""
    last = {}  # flow identity -> (flow, direction) with the largest counters seen
    for f in files:
        for fl in json.load(open(f))["flows"]:
            (a, pa), (b, pb) = endpoint(fl["src"]), endpoint(fl["dst"])
            proto = fl["protocol_number"]
            for name, src, dst, sp, dp in (("forward", a, b, pa, pb), ("reverse", b, a, pb, pa)):
                ident = (proto, src, dst, sp, dp, name)
                if ident not in last or fl["packets"][name] >= last[ident][0]["packets"][name]:
                    last[ident] = (fl, name)
    dirs = {}
    for (proto, src, dst, sp, dp, name), (fl, _) in last.items():
        key = (proto, src, dst, (sp, dp) if proto in (6, 17) else None)
        d = dirs.setdefault(key, {"packets": 0, "bytes": 0, "flows": []})
        d["flows"].append((fl, name))
        d["packets"] += fl["packets"][name]
        d["bytes"] += fl["bytes"][name]
    return dirs


def compare(records, dirs, label, sums_too=True):
    """records: list of dicts with proto, src, dst, sport, dport, packets, bytes. Returns errors."""
    sums = defaultdict(lambda: [0, 0, 0])
    errors = []
    for r in records:
        key = (r["proto"], r["src"], r["dst"], (r["sport"], r["dport"]) if r["proto"] in (6, 17) else None)
        if key not in dirs:
            errors.append(f"{label}: a record of no flow show flows knew: {key}")
            continue
        s = sums[key]
        s[0] += r["packets"]; s[1] += r["bytes"]; s[2] += 1
    for key, d in dirs.items() if sums_too else ():
        got = sums.get(key, [0, 0, 0])
        if (got[0], got[1]) != (d["packets"], d["bytes"]):
            errors.append(f"{label}: {key}: records say {got[0]} packets {got[1]} bytes ({got[2]} records), show flows {d['packets']} / {d['bytes']}")
    multi = sum(1 for s in sums.values() if s[2] > 1)
    print(f"{label}: {len(records)} records, {len(dirs)} flow directions in show flows, "
          f"{sum(1 for k in dirs if sums.get(k))} with records, {multi} reported in several records (active timeout)")
    return errors


def nfdump(path, dirs):
    recs, errors = [], []
    for r in json.load(open(path)):
        if r.get("type") != "FLOW":
            continue
        src = r.get("src4_addr") or r.get("src6_addr")
        dst = r.get("dst4_addr") or r.get("dst6_addr")
        proto = r["proto"]
        sport, dport = (r.get("src_port", 0), r.get("dst_port", 0))
        for field in ("input_snmp", "output_snmp", "src_vlan", "first", "last", "in_packets", "in_bytes"):
            if field not in r:
                errors.append(f"nfdump: record without {field}: {r}")
        # The source's port is known for configured VMs' addresses (an IPv6 link-local one is not).
        known_src = not ipaddress.ip_address(src).is_link_local
        if (known_src and (r.get("input_snmp", 0) == 0 or r.get("src_vlan", 0) not in (10, 20))) or r["first"] > r["last"]:
            errors.append(f"nfdump: interface/VLAN/times not decoded: {r}")
        recs.append({"proto": proto, "src": str(ipaddress.ip_address(src)), "dst": str(ipaddress.ip_address(dst)),
                     "sport": sport, "dport": dport, "packets": r["in_packets"], "bytes": r["in_bytes"]})
    return recs, errors


def as_list(v):
    return v if isinstance(v, list) else [v]


def tshark(path, dirs):
    recs, errors = [], []
    checked = defaultdict(int)
    for pkt in json.load(open(path)):
        for cf in as_list(pkt["_source"]["layers"].get("cflow", [])):
            for set_name, st in cf.items():
                if not set_name.startswith("Set") or "Template" in set_name:
                    continue
                for st1 in as_list(st):
                    for flow_name, f in st1.items():
                        if not flow_name.startswith("Flow"):
                            continue
                        for f1 in as_list(f):
                            r, errs = tshark_flow(f1, dirs, checked)
                            errors += errs
                            if r:
                                recs.append(r)
    print("tshark: enterprise fields checked against show flows:", dict(checked))
    # vm1 sends DSCP 0 where AF21 (18) is assigned (audit): its directions say both.
    for must in ("denied", "rule pg", "dscp 18 assigned", "dscp 0 observed", "mirrors db-tap"):
        if not checked.get(must):
            errors.append(f"tshark: no record showed {must}")
    return recs, errors


def tshark_flow(f, dirs, checked):
    src = f.get("cflow.srcaddr") or f.get("cflow.srcaddrv6")
    dst = f.get("cflow.dstaddr") or f.get("cflow.dstaddrv6")
    proto = int(f["cflow.protocol"])
    r = {"proto": proto, "src": str(ipaddress.ip_address(src)), "dst": str(ipaddress.ip_address(dst)),
         "sport": int(f["cflow.srcport"]), "dport": int(f["cflow.dstport"]),
         "packets": int(f["cflow.packets"]), "bytes": int(f["cflow.octets"])}
    ent = as_list(f.get("cflow.enterprise_private_entry", []))
    if len(ent) == 10:  # tshark shows no item for an empty variable-length field: the mirrors
        ent.insert(9, "")
    if len(ent) != 11:
        return r, [f"tshark: {len(ent)} enterprise fields, expected 11: {f}"]
    b = [bytes.fromhex(e.replace(":", "")) for e in ent]
    state, action = STATES[b[0][0]], ACTIONS[b[1][0]]
    rule_id, rule = int.from_bytes(b[2], "big"), b[3].decode()
    epoch, to_dev, shortcut = (int.from_bytes(x, "big") for x in (b[4], b[5], b[6]))
    dscp_obs, dscp_asg, mirrors, initiator = b[7][0], b[8][0], b[9].decode(), b[10][0]
    key = (proto, r["src"], r["dst"], (r["sport"], r["dport"]) if proto in (6, 17) else None)
    d = dirs.get(key)
    if not d:
        return r, []  # reported by compare()
    none = lambda v: 255 if v is None else v
    got = (state, action, rule, epoch, dscp_obs, dscp_asg, mirrors, initiator, to_dev, shortcut)
    exps = []
    for fl, name in d["flows"]:  # ICMP: any of the flows between these addresses
        want, chain = fl["directions"][name], fl.get("chain", {})
        exps.append((fl["state"], fl["action"], fl["rule"], fl["epoch"], none(want["dscp_observed"]), none(want["dscp_assigned"]),
                     want["mirrors"], 1 if name == "forward" else 0, chain.get("to_device", {}).get(name, 0),
                     chain.get("shortcut", {}).get(name, 0)))
    if got not in exps:
        return r, [f"tshark: {key}: enterprise fields {got}, show flows {exps}"]
    if (rule == "(default)") != (rule_id == 0xffffffff):
        return r, [f"tshark: {key}: rule id {rule_id} for rule {rule}"]
    checked[state] += 1
    checked["rule " + rule] += 1
    if dscp_asg != 255:
        checked[f"dscp {dscp_asg} assigned"] += 1
    if dscp_obs != 255:
        checked[f"dscp {dscp_obs} observed"] += 1
    if mirrors:
        checked["mirrors " + mirrors] += 1
    return r, []


def main():
    mode, path, flow_files = sys.argv[1], sys.argv[2], sys.argv[3:]
    dirs = load_flows(flow_files)
    recs, errors = (nfdump if mode == "nfdump" else tshark)(path, dirs)
    # Collector 2 went away for a while (its records then were lost): only nfdump's
    # collector must have every packet.
    errors += compare(recs, dirs, mode, sums_too=mode == "nfdump")
    for e in errors[:20]:
        print(e)
    sys.exit(1 if errors or not recs else 0)


if __name__ == "__main__":
    main()
