// Man-page-style help for shmctl and each of its commands.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "shmctl.h"

#ifndef SHMCTL_VERSION
#define SHMCTL_VERSION "unknown"
#endif

namespace shmctl {

namespace {

struct Page {
  std::string_view name;
  std::string_view summary;
  std::string_view synopsis;
  std::string_view description;
  std::string_view options;
  std::string_view exit_status;  // extra lines after the common ones
  std::string_view examples;
};

constexpr std::string_view kRingNote =
    "    RING is a NAME (the file /dev/shm/NAME) or a PATH containing '/' (any tmpfs file).\n";

constexpr Page kPages[] = {
    {"create", "create a ring",
     "shmctl create RING --capacity SIZE [--policy block|reject|overwrite] [--max-record SIZE]\n"
     "                   [--mode MODE] [--group NAME]... [--no-checksums] [--batches] [--max-producers N]\n"
     "                   [--max-groups N] [--stale-after MS] [--evict-after MS] [--unblock-after MS]",
     "    Creates a new ring file (never overwrites an existing one) with the given consumer\n"
     "    groups, which all start at the first record. SIZE accepts K, M, G and T suffixes\n"
     "    (powers of 1024).\n",
     "    --capacity SIZE       data area in bytes: a power of two, 4K .. 1T (required)\n"
     "    --policy P            when the slowest live group leaves no room: block (wait up to the\n"
     "                          producer's deadline), reject (drop the new record) or overwrite\n"
     "                          (drop the oldest records for lagging groups); default block\n"
     "    --max-record SIZE     largest payload, at most capacity/2 - 48 and 4G-1; default\n"
     "                          capacity/4 - 32, at most 4G-1 (4294967295)\n"
     "    --mode MODE           octal file mode; default 0600, 0660 to share with a group\n"
     "    --group NAME          a consumer group; repeat it or give a comma-separated list\n"
     "    --no-checksums        do not checksum records (XXH3 is on by default)\n"
     "    --batches             allow message batches (many small messages in one record, one\n"
     "                          checksum and commit for all; see write --batch). Libraries older\n"
     "                          than ring layout 1.2 then refuse the ring\n"
     "    --max-producers N     producer slots, 1 .. 1024; default 64\n"
     "    --max-groups N        group slots, 1 .. 256; default 16\n"
     "    --stale-after MS      a heartbeat older than this is stale; default 5000\n"
     "    --evict-after MS      a group without a live reader this long stops gating; default 10000\n"
     "    --unblock-after MS    a live producer's claim that readers were stuck at this long, with no\n"
     "                          heartbeat for as long (stopped, paused), is taken: its records are\n"
     "                          abandoned, its late commit fails; default 30000\n",
     "",
     "    shmctl create logs --capacity 1M --group agent\n"
     "    shmctl create spans --capacity 64M --policy overwrite --mode 0660 --group otel,debug\n"},
    {"write", "write records to a ring (a producer)",
     "shmctl write RING [--type T] [--rate R/s] [--timeout SECS] [--batch N]\n"
     "shmctl write RING --count N --size SIZE [--type T] [--rate R/s] [--timeout SECS] [--batch N]",
     "    Attaches as a producer and writes one record per line of standard input (the line\n"
     "    without its newline), or, with --count and --size, N synthetic records of SIZE bytes\n"
     "    (\"record <i> \" then 'x' filler). Reports on stderr how many records and bytes it wrote\n"
     "    and how many were dropped, with the first failure's reason.\n",
     "    --count N             write N synthetic records (needs --size)\n"
     "    --size SIZE           payload size of each synthetic record\n"
     "    --type T              record type, 0 .. 65535; default 0\n"
     "    --rate R/s            at most R records per second; default as fast as possible\n"
     "    --timeout SECS        block policy: how long a write waits for room; default 5\n"
     "    --batch N             write N records at a time as the messages of one batch record\n"
     "                          (the ring needs create --batches); readers still get one record\n"
     "                          per message. A refused batch drops all N; default 1\n",
     "    1 also when any record was dropped (ring full, record larger than max record).\n",
     "    printf 'hello\\nworld\\n' | shmctl write logs\n"
     "    shmctl write logs --count 100000 --size 200 --rate 10000/s\n"
     "    shmctl write metrics --count 1000000 --size 64 --batch 16\n"},
    {"read", "read records of a consumer group",
     "shmctl read RING [--group G [--follow] [--timeout SECS]] [--max N] [--format text|hex|json|raw]",
     "    With --group: becomes the reader of consumer group G and prints its records, committing\n"
     "    the group's cursor after each batch reaches standard output (so they are consumed).\n"
     "    Without --follow it stops once the group has caught up. Fails if a live reader holds the\n"
     "    group. Records the group loses during the read (skipped as corrupt, or overwritten\n"
     "    before they were read on an overwrite ring) are reported from the group's counters, at\n"
     "    most once a second and at the end: a note on standard error (\"shmctl: note: group 'G'\n"
     "    lost records during this read: N skipped as corrupt, M overwritten before they were\n"
     "    read\"), and with --format json also a line {\"notice\":\"records_lost\",\"group\":G,\n"
     "    \"corrupt\":N,\"overwritten\":M} among the records (records have \"payload\" or\n"
     "    \"payload_hex\", notices have \"notice\").\n"
     "    Without --group: a non-destructive peek. Copies up to --max (default 100) committed\n"
     "    records, oldest first from the oldest group cursor, and moves no cursor; each copy is\n"
     "    checked against its checksum. Damaged records are left out, and a note on standard\n"
     "    error lists them (as verify reports them).\n",
     "    --group G             the consumer group to read as; without it, a peek\n"
     "    --follow              keep waiting for new records until interrupted (Ctrl-C); needs\n"
     "                          --group\n"
     "    --max N               stop after N records (a message batch that --max cuts is read\n"
     "                          again whole by the next reader: the cursor never passes half of one)\n"
     "    --timeout SECS        stop after SECS without a new record; default 0 (stop when\n"
     "                          caught up), or never with --follow\n"
     "    --format F            text: one payload per line (default); raw: payloads back to back;\n"
     "                          hex: position, type, producer, length and hex payload per line;\n"
     "                          json: one JSON object per line (payload, or payload_hex if the\n"
     "                          payload is not UTF-8)\n",
     "",
     "    shmctl read logs --group agent\n"
     "    shmctl read logs --group agent --follow --format json\n"},
    {"ls", "list the rings in a directory",
     "shmctl ls [DIR]",
     "    Lists every shmring ring in DIR (default /dev/shm), one aligned line each: name, layout\n"
     "    version, capacity, used bytes and records (the slowest group's backlog), live producers,\n"
     "    groups and state. Files without the ring magic are skipped; files with it that fail\n"
     "    validation (truncated, corrupt superblock) are shown with the error. State is \"ok\" or a list of what is wrong: \"no live participant\",\n"
     "    \"dead: ...\", \"stale: ...\", \"evicted: ...\", \"no reader: ...\". A ring with no live\n"
     "    participant says for how long: since the most recent heartbeat of any of its slots\n"
     "    (\"no live participant for 2m05s\").\n",
     "", "",
     "    shmctl ls\n"
     "    shmctl ls /run/myapp\n"},
    {"stat", "show a ring's configuration, depth, groups, producers and counters",
     "shmctl stat RING [--json]",
     "    Prints one live snapshot of the ring (read-only; disturbs nobody): layout version and\n"
     "    features, capacity, policy, timeouts, used bytes and records, high-water mark, totals;\n"
     "    a table of groups (cursor, lag, reader liveness, heartbeat age, pid, pid namespace,\n"
     "    counters) and a table of producer slots.\n",
     "    --json                the snapshot as JSON, schema \"shmring.stat/1\" (see STAT_JSON.md)\n", "",
     "    shmctl stat logs\n"
     "    shmctl stat logs --json | python3 -m json.tool\n"},
    {"metrics", "print Prometheus metrics for rings",
     "shmctl metrics RING...",
     "    Prints the rings' stats in the Prometheus text exposition format: metric names start\n"
     "    with shmring_, use base units (bytes, seconds), counters end in _total; labels are ring,\n"
     "    group (per-group metrics) and slot (per-producer metrics). Rings that cannot be opened\n"
     "    are reported on stderr; the others are still printed.\n",
     "", "    1 also when any ring could not be read.\n",
     "    shmctl metrics logs spans > /var/lib/node_exporter/textfile/shmring.prom\n"},
    {"verify", "check every record and slot of a ring",
     "shmctl verify RING [--json]",
     "    Walks every record from the oldest group cursor to the tail and every producer and\n"
     "    group slot, checking headers, bounds and (when the ring has them) checksums. It maps\n"
     "    the ring read-only and disturbs nobody, so it is safe on a live or a hostile ring.\n"
     "    Prints what it walked: the positions, records and payload bytes, padding, skipped,\n"
     "    abandoned and in-flight (claimed, not yet committed) records; then \"result ok\", or\n"
     "    the number of problems followed by each one on its own line, naming the position or\n"
     "    slot and what was wrong (e.g. \"position 4160: checksum mismatch ...\"). A walk stops\n"
     "    at the first unreadable header: what lies past it cannot be located.\n",
     "    --json                the report as JSON, schema \"shmring.verify/1\": ok, from, to,\n"
     "                          walked_bytes, records, bytes, padding, skipped, abandoned,\n"
     "                          in_flight, problems (an array of strings)\n",
     "    1 also when verify found any problem (the report is still printed).\n",
     "    shmctl verify logs\n"
     "    shmctl verify logs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"problems\"])'\n"
     "    cp /dev/shm/logs /tmp/logs.copy && shmctl verify /tmp/logs.copy\n"},
    {"recover", "settle dead producers' claims and evict dead readers' groups now, then verify",
     "shmctl recover RING [--json]",
     "    Applies the recovery protocol at once (spec/RECOVERY.md §3.5, §4.1). Every producer slot\n"
     "    holding an in-flight claim whose process is gone has its claim settled: the records it\n"
     "    claimed but never committed become abandoned records that readers step over (what a\n"
     "    reader stuck at one does by itself), and the dead producer's slot is freed. Every group\n"
     "    whose reader is gone (no process holds its reader lock) and whose heartbeat is older\n"
     "    than the ring's evict-after timeout is evicted: it stops holding producers back (what a\n"
     "    blocked producer does by itself); a reader that attaches later resumes and is told what\n"
     "    it lost. Overwrite rings never evict. Live producers and readers are left alone (a\n"
     "    reader or producer stuck at a live one's claim takes it after --unblock-after; a slow\n"
     "    live reader is never evicted). Prints how many claims it settled, records it abandoned,\n"
     "    slots it freed and groups it evicted, the ring's state, then the report of verify run\n"
     "    on the result.\n",
     "    --json                the result as JSON, schema \"shmring.recover/1\": claims_settled,\n"
     "                          records_abandoned, slots_freed, claims_unsettled, groups_evicted,\n"
     "                          state, verify (as verify --json)\n",
     "    1 also when verify still finds a problem after recovery.\n",
     "    shmctl recover logs\n"},
    {"watch", "show stat live, with rates, redrawn in place",
     "shmctl watch RING [-i SECS] [--count N]",
     "    Shows the ring's stat every SECS seconds with the rates since the previous snapshot:\n"
     "    records and bytes committed per second, drops, overwrites and abandoned records per\n"
     "    second, and per group records and bytes delivered per second, overwrites per second\n"
     "    and lag. On a terminal each frame is redrawn in place; press q or Ctrl-C to quit\n"
     "    (the terminal is restored). When standard output is not a terminal the frames are\n"
     "    printed one after another, separated by a blank line. Read-only: disturbs nobody. If\n"
     "    the ring is removed (shmctl rm) or its name replaced while watched, each frame starts\n"
     "    with a NOTE saying so.\n"
     "    The first frame comes after one interval (rates need two snapshots).\n",
     "    -i, --interval SECS   seconds between frames, at least 0.05; default 1 (also 500ms)\n"
     "    --count N             stop after N frames; default: until q, Ctrl-C or SIGTERM\n",
     "",
     "    shmctl watch logs\n"
     "    shmctl watch logs -i 0.5\n"
     "    shmctl watch logs --count 3 -i 1 > frames.txt\n"},
    {"serve", "serve /metrics and /healthz over HTTP",
     "shmctl serve --listen HOST:PORT RING...",
     "    Serves the rings over HTTP, read-only (it disturbs nobody):\n"
     "      GET /metrics   the Prometheus text of shmctl metrics, Content-Type\n"
     "                     \"text/plain; version=0.0.4\"; a ring that cannot be read is named in\n"
     "                     a comment line and left out\n"
     "      GET /healthz   200 \"ok\" when every group of every ring has a live reader and every\n"
     "                     ring verifies; otherwise 503 with one line per reason (a group without\n"
     "                     a live reader, a stale reader, each verify problem, a ring that\n"
     "                     cannot be opened)\n"
     "    Every request looks at the rings afresh. /healthz walks each ring (see verify), so its\n"
     "    cost grows with the rings' used bytes. Prints \"listening on HOST:PORT\" once bound;\n"
     "    SIGINT or SIGTERM stops it gracefully (requests in progress complete).\n",
     "    --listen HOST:PORT    address to listen on (required); port 0 picks a free port, the one\n"
     "                          printed; bind 127.0.0.1 unless the port must be reachable from\n"
     "                          other hosts or network namespaces\n",
     "    1 also when the address cannot be bound, or a RING cannot be opened at start.\n",
     "    shmctl serve --listen 127.0.0.1:9464 logs spans\n"
     "    curl -s 127.0.0.1:9464/healthz\n"},
    {"health", "exit 0 when the groups have live readers and the ring verifies (for exec probes)",
     "shmctl health RING... [--group G]... [--no-verify] [--quiet]",
     "    The check of serve's /healthz as an exit status, for a container's exec probe: a ring\n"
     "    is healthy when every group (or each --group given) has a live reader (alive: its lock\n"
     "    held and its heartbeat fresh; see stat) and the ring verifies. Prints \"ok\", or one line\n"
     "    per reason it is not (a group without a live reader, a stale reader, a missing group,\n"
     "    each verify problem, a ring that cannot be opened). Read-only: it disturbs nobody.\n",
     "    --group G             check only these groups (repeatable, or comma-separated); a group\n"
     "                          that does not exist is a problem\n"
     "    --no-verify           skip the walk of the records (liveness only; cost independent of\n"
     "                          the ring's used bytes)\n"
     "    --quiet               print nothing; the exit status says it all\n",
     "    1 when any RING is unhealthy.\n",
     "    shmctl health logs --group agent --no-verify    # a drain sidecar's own liveness probe\n"
     "    shmctl health logs spans                        # every group of both rings, and verify\n"},
    {"drain", "move a group's records to stdout or a rotated file (the log sidecar)",
     "shmctl drain RING --group G --to -|PATH [--format raw|lines|json|otlp-json]\n"
     "                  [--fsync never|interval|always] [--rotate-size SIZE [--keep N]]\n"
     "                  [--batch N] [--max N] [--idle-exit SECS]",
     "    Becomes the reader of consumer group G and writes its records to standard output\n"
     "    (--to -: a pipe, a file or the container log that the node's log agent collects) or to\n"
     "    PATH (e.g. for an OpenTelemetry filelog or otlpjsonfile receiver), until SIGINT or\n"
     "    SIGTERM. Writes go through io_uring: each batch as vectored writes (raw and lines\n"
     "    straight from the ring, no copy), up to 8 submitted at once and linked so they land\n"
     "    in order, the output file registered with the ring. If io_uring cannot be set up (e.g.\n"
     "    a seccomp profile forbids it) drain says so once on stderr and uses writev(2) with the\n"
     "    same rules (SHMCTL_DRAIN_IO=writev asks for that path).\n"
     "    The group's cursor moves past a batch only after every byte of it is confirmed\n"
     "    written (a short write is resubmitted from where it stopped) and, per --fsync, synced;\n"
     "    so a drain killed with -9 and started again loses no record and writes again at most\n"
     "    what was written but not committed: one batch with --fsync always or never, up to one\n"
     "    second of records with --fsync interval. A file left ending in a partial line by such\n"
     "    a kill gets a newline first (the fragment stays; its record is written again whole).\n"
     "    Under the overwrite policy the ring commits as it delivers: at most once instead.\n"
     "    When idle, drain sleeps on the group's doorbell (Reader::DoorbellFd: an fd that\n"
     "    becomes readable once after each empty poll, when the next record is committed), with\n"
     "    the wait capped at 100 ms; without a doorbell it waits on the ring's futex. A slow or\n"
     "    full output slows the drain; what producers then see is the ring's policy, visible in\n"
     "    shmctl stat (lag, dropped, blocked). ENOSPC, EPIPE and other write errors stop drain\n"
     "    with exit status 1 and the batch uncommitted (for a pipe, what the pipe accepted\n"
     "    counts as written: a pipe reader that dies takes what it had not consumed with it).\n"
     "    On SIGINT or SIGTERM it finishes the batch in flight, syncs and commits, prints a\n"
     "    summary on stderr and exits 0.\n"
     "    Formats:\n"
     "      raw        the payloads back to back\n"
     "      lines      each payload and a newline (text logs; a payload's own newlines stay)\n"
     "      json       one object per line: time (RFC 3339, ns, when drained), ring, group,\n"
     "                 producer, type, position, and payload (UTF-8 text) or payload_base64\n"
     "      otlp-json  OTLP/JSON ExportLogsServiceRequest lines, as the OpenTelemetry Collector\n"
     "                 contrib otlpjsonfile receiver reads them: resource attributes\n"
     "                 service.name=shmring, shmring.ring, shmring.group; scope shmring; per\n"
     "                 record timeUnixNano = observedTimeUnixNano = drain time (decimal strings),\n"
     "                 body stringValue (UTF-8) or bytesValue (base64), attributes\n"
     "                 shmring.producer, shmring.type, shmring.position (intValue, as strings;\n"
     "                 a position above 2^63-1 as stringValue) and shmring.flags when not 0; no\n"
     "                 trace context is known, so traceId and spanId are omitted. Several\n"
     "                 records share a line, each line under 256 KiB.\n",
     "    --group G             the consumer group to drain (required)\n"
     "    --to -|PATH           standard output, or a file (created if missing, appended to)\n"
     "    --format F            raw, lines, json or otlp-json (see above); default lines\n"
     "    --fsync M             never: commit once written; always: fdatasync before every commit;\n"
     "                          interval: fdatasync at most once a second (sooner when the\n"
     "                          uncommitted records fill half the ring), committing what it\n"
     "                          covers; default interval. Only regular files are synced:\n"
     "                          other outputs (pipes, ttys) commit each batch once written\n"
     "    --rotate-size SIZE    PATH only: once PATH has SIZE bytes (checked after each batch),\n"
     "                          rename PATH to PATH.1 (PATH.1 to PATH.2 ..., the oldest beyond\n"
     "                          --keep removed) and reopen PATH, as logrotate and the filelog\n"
     "                          receiver expect; records are never split between files\n"
     "    --keep N              rotated files to keep, 1 .. 1000; default 5\n"
     "    --batch N             records per batch (and at most this many uncommitted with\n"
     "                          --fsync never or always), 1 .. 65536; default 256\n"
     "    --max N               stop after N records\n"
     "    --idle-exit SECS      stop after SECS without a record (default: never)\n",
     "    1 also when a write or sync fails (ENOSPC, EPIPE, ...): the batch stays uncommitted and\n"
     "    the next drain of the group writes it again; and when another reader took the group.\n",
     "    shmctl drain logs --group agent --to -\n"
     "    shmctl drain logs --group otel --to /var/log/app/records.jsonl --format otlp-json \\\n"
     "        --rotate-size 64M --keep 3\n"},
    {"rm", "remove rings",
     "shmctl rm [--force] RING...",
     "    Unlinks the ring files. Processes that have a ring mapped keep using it until they\n"
     "    detach; new attaches fail. Only rings are removed: a file that is not a regular file\n"
     "    starting with the ring magic (a symlink, a text file) is refused and kept, and so is a\n"
     "    file with the magic that fails validation (truncated, corrupt superblock) unless\n"
     "    --force is given.\n",
     "    --force               also remove a broken ring (has the magic, fails validation)\n",
     "    1 if any file could not be removed or was refused (the others are still removed).\n",
     "    shmctl rm logs\n"
     "    shmctl rm --force /dev/shm/truncated-ring\n"},
    {"group", "add or remove a consumer group",
     "shmctl group add RING NAME\n"
     "shmctl group rm RING NAME",
     "    add: creates consumer group NAME, starting at the current tail (it sees records\n"
     "    committed from now on). rm: removes group NAME, which must have no live reader;\n"
     "    producers stop waiting for it. Names are 1 to 63 letters, digits, '.', '_' or '-'.\n",
     "", "",
     "    shmctl group add logs audit\n"
     "    shmctl group rm logs audit\n"},
};

const Page* Find(std::string_view name) {
  for (const Page& p : kPages) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

void Overview(std::ostream& out) {
  out << "NAME\n    shmctl - create, inspect and use shmring shared-memory rings\n\n"
         "SYNOPSIS\n    shmctl COMMAND [ARGS...]\n    shmctl help [COMMAND]\n    shmctl COMMAND --help\n"
         "    shmctl --version\n\n"
         "COMMANDS\n";
  for (const Page& p : kPages) out << "    " << p.name << std::string(10 - p.name.size(), ' ') << p.summary << "\n";
  out << "\nDESCRIPTION\n" << kRingNote
      << "\nEXIT STATUS\n    0 success, 1 operational failure, 2 usage error.\n"
         "\nEXAMPLES\n"
         "    shmctl create logs --capacity 1M --group agent\n"
         "    printf 'hello\\n' | shmctl write logs\n"
         "    shmctl read logs --group agent\n"
         "    shmctl stat logs\n"
         "    shmctl watch logs\n"
         "    shmctl verify logs\n";
}

}  // namespace

bool PrintHelp(std::string_view command, std::ostream& out) {
  if (command.empty()) {
    Overview(out);
    return true;
  }
  const Page* p = Find(command);
  if (p == nullptr) return false;
  std::string synopsis;
  for (char c : p->synopsis) synopsis += c == '\n' ? std::string("\n    ") : std::string(1, c);
  out << "NAME\n    shmctl-" << p->name << " - " << p->summary << "\n\n"
      << "SYNOPSIS\n    " << synopsis << "\n\n"
      << "DESCRIPTION\n" << p->description << kRingNote << "\n"
      << "OPTIONS\n" << p->options << "    --help                show this help\n\n"
      << "EXIT STATUS\n    0 success; 1 operational failure (the reason follows \"shmctl: \" on stderr);\n"
      << "    2 usage error (unknown command or option, bad value).\n" << p->exit_status << "\n"
      << "EXAMPLES\n" << p->examples;
  return true;
}

std::string Synopsis(std::string_view command) {
  const Page* p = Find(command);
  if (p == nullptr) return "shmctl COMMAND [ARGS...]";
  std::string_view s = p->synopsis;
  return std::string(s.substr(0, s.find('\n')));
}

std::string ToolVersion() { return absl::StrCat("shmctl ", SHMCTL_VERSION); }

}  // namespace shmctl
