// shmctl drain's record formatters: json (one object per line) and otlp-json (OTLP/JSON
// ExportLogsServiceRequest lines, as the OpenTelemetry Collector's otlpjsonfile receiver reads
// them). raw and lines need no formatting: cmd_drain.cc writes payloads straight from the ring.
#include <time.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shmctl.h"

namespace shmctl {

namespace {

using ordered_json = nlohmann::ordered_json;

// A logRecords request stays below this many encoded bytes (several records per line; a line
// must stay well under the filelog/otlpjsonfile reader's default max_log_size of 1 MiB).
constexpr size_t kOtlpRequestBytes = 256 << 10;

std::string_view Text(std::span<const std::byte> p) {
  return std::string_view(reinterpret_cast<const char*>(p.data()), p.size());
}

// OTLP AnyValue intValue is an int64 encoded as a JSON string.
ordered_json IntValue(int64_t v) { return ordered_json{{"intValue", std::to_string(v)}}; }

ordered_json Attr(std::string_view key, ordered_json value) {
  return ordered_json{{"key", std::string(key)}, {"value", std::move(value)}};
}

}  // namespace

bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong 2-byte lead (c0, c1), or > U+10FFFF lead
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return false;  // overlong, too big
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // UTF-16 surrogates
    i += len;
  }
  return true;
}

std::string Rfc3339Nano(uint64_t unix_ns) {
  const time_t secs = time_t(unix_ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, int(unix_ns % 1000000000));
}

void AppendDrainJson(std::string* out, const DrainMeta& meta, uint64_t unix_ns,
                     std::span<const DrainRecord> records) {
  const std::string time = Rfc3339Nano(unix_ns);
  for (const DrainRecord& r : records) {
    ordered_json j = {{"time", time},           {"ring", meta.ring},   {"group", meta.group},
                      {"producer", r.producer}, {"type", r.type},      {"position", r.position}};
    const std::string_view p = Text(r.payload);
    if (IsUtf8(p)) {
      j["payload"] = std::string(p);
    } else {
      j["payload_base64"] = absl::Base64Escape(AV(p));
    }
    absl::StrAppend(out, j.dump(), "\n");
  }
}

void AppendOtlpJson(std::string* out, const DrainMeta& meta, uint64_t unix_ns, std::span<const DrainRecord> records) {
  // The envelope around one request's logRecords, built once per call.
  ordered_json resource = {
      {"attributes",
       {Attr("service.name", {{"stringValue", "shmring"}}), Attr("shmring.ring", {{"stringValue", meta.ring}}),
        Attr("shmring.group", {{"stringValue", meta.group}})}}};
  const std::string prefix =
      absl::StrCat(R"({"resourceLogs":[{"resource":)", resource.dump(),
                   R"(,"scopeLogs":[{"scope":{"name":"shmring","version":")", AV(meta.version), R"("},"logRecords":[)");
  const std::string suffix = "]}]}]}\n";
  const std::string now = std::to_string(unix_ns);  // fixed64: a decimal string

  size_t in_request = 0, request_bytes = 0;
  for (const DrainRecord& r : records) {
    // The record carries no timestamp of its own: timeUnixNano and observedTimeUnixNano are both
    // when it was drained. No trace context is known, so traceId/spanId/flags are omitted.
    ordered_json rec = {{"timeUnixNano", now}, {"observedTimeUnixNano", now}};
    const std::string_view p = Text(r.payload);
    if (IsUtf8(p)) {
      rec["body"] = {{"stringValue", std::string(p)}};
    } else {
      rec["body"] = {{"bytesValue", absl::Base64Escape(AV(p))}};
    }
    ordered_json attrs = ordered_json::array();
    attrs.push_back(Attr("shmring.producer", IntValue(int64_t(r.producer))));
    attrs.push_back(Attr("shmring.type", IntValue(int64_t(r.type))));
    // Positions are uint64; OTLP has only int64: beyond INT64_MAX the decimal goes as a string.
    attrs.push_back(Attr("shmring.position", r.position <= uint64_t(INT64_MAX)
                                                 ? IntValue(int64_t(r.position))
                                                 : ordered_json{{"stringValue", std::to_string(r.position)}}));
    if (r.flags != 0) attrs.push_back(Attr("shmring.flags", IntValue(int64_t(r.flags))));
    rec["attributes"] = std::move(attrs);
    const std::string encoded = rec.dump();

    if (in_request > 0 && request_bytes + encoded.size() > kOtlpRequestBytes) {
      out->append(suffix);
      in_request = 0;
      request_bytes = 0;
    }
    out->append(in_request == 0 ? prefix : ",");
    out->append(encoded);
    ++in_request;
    request_bytes += encoded.size();
  }
  if (in_request > 0) out->append(suffix);
}

}  // namespace shmctl
