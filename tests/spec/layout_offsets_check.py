#!/usr/bin/env python3
"""spec/LAYOUT.md and libshmring/src/layout.h agree: every field of the spec's tables for
§2 (Superblock), §3 (Control), §4 (ProducerSlot), §5 (GroupSlot) and §6 (RecordHeader) is
declared in layout.h at the same offset, and layout.h declares no field the spec lacks.
layout.h's offset comments are in turn pinned by its static_asserts (SHMRING_AT)."""
import re
import sys

spec_path, header_path = sys.argv[1], sys.argv[2]
spec = open(spec_path, encoding="utf-8").read()
header = open(header_path, encoding="utf-8").read()
SECTIONS = {"§2": "Superblock", "§3": "Control", "§4": "ProducerSlot", "§5": "GroupSlot", "§6": "RecordHeader"}


def spec_fields(sec):
    m = re.search(r"^## " + sec + r" .*?$(.*?)(?=^##+ §)", spec, re.S | re.M)
    if not m:
        sys.exit(f"{spec_path}: no section {sec}")
    fields = {}
    for row in re.finditer(r"^\| (\d+) \| \d+ \| [^|]+ \| ([^|]+) \|", m.group(1), re.M):
        for name in re.findall(r"`(\w+)`", row.group(2)):
            fields[name] = int(row.group(1))
    return fields


def header_fields(struct):
    m = re.search(r"struct " + struct + r" \{(.*?)\n\};", header, re.S)
    if not m:
        sys.exit(f"{header_path}: no struct {struct}")
    fields = {}
    for line in m.group(1).split("\n"):
        f = re.match(r"\s+(?:std::atomic<[^>]+>|u?int\d+_t|char)\s+(\w+)(?:\[[^\]]*\])?;\s*//\s*(\d+)", line)
        if f:
            fields[f.group(1)] = int(f.group(2))
    asserted = set(re.findall(r"SHMRING_AT\(" + struct + r", (\w+), (\d+)\)", header))
    return fields, asserted


errors = []
for sec, struct in SECTIONS.items():
    s = spec_fields(sec)
    h, asserted = header_fields(struct)
    if not s or not h:
        errors.append(f"{struct}: nothing parsed (spec {len(s)}, header {len(h)} fields)")
    for name, off in s.items():
        if name not in h:
            errors.append(f"{struct}.{name}: in {spec_path} {sec} at {off}, not in {header_path}")
        elif h[name] != off:
            errors.append(f"{struct}.{name}: {spec_path} {sec} says offset {off}, {header_path} says {h[name]}")
    for name, off in h.items():
        if name not in s:
            errors.append(f"{struct}.{name}: in {header_path} at {off}, missing from {spec_path} {sec}")
        if (name, str(off)) not in asserted:
            errors.append(f"{struct}.{name}: no SHMRING_AT static_assert at {off} in {header_path}")
    print(f"{struct}: {len(s)} spec fields, {len(h)} declared, {len(asserted)} asserted")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("spec/LAYOUT.md and layout.h agree")
