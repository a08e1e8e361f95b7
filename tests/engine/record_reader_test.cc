// RecordReader over every container of spec §1, bad input, and the real
// CloudTrail datasets vendored in tests/data/cloudtrail (counts from SOURCES.md).
#include "server/engine/record_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "server/engine/engine.h"
#include "server/engine/event_classifier.h"
#include "server/engine/record_parser.h"
#include "tests/testing/cloudtrail_builder.h"
#include "tests/testing/gzip.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

using engine::RecordOrError;
using engine::RecordReader;

struct Counts {
  int records = 0, errors = 0, parsed = 0;
  std::vector<std::string> names;
};

Counts ReadAll(RecordReader& reader, std::string_view bytes, absl::Status* status = nullptr) {
  Counts c;
  absl::Status st = reader.Read(bytes, [&](size_t, const RecordOrError& r) {
    ++c.records;
    if (r.error) {
      ++c.errors;
      return;
    }
    engine::Event ev;
    if (!engine::ParseRecord(r.record, ev)) {
      ++c.parsed;
      c.names.emplace_back(ev.event_name);
    }
  });
  if (status) *status = st;
  return c;
}

TEST(RecordReader, ReadsEveryContainer) {
  const std::string a = Record().Action("ListUsers").Json(),
                    b = Record().Action("ListRoles").Json();
  RecordReader reader;
  const std::map<std::string, std::string> inputs = {
      {"s3 delivery", "{\"Records\":[" + a + "," + b + "]}"},
      {"array", "[" + a + ",\n" + b + "]"},
      {"json lines", a + "\n" + b + "\n"},
      {"json lines crlf", a + "\r\n\r\n" + b},
      {"eventbridge lines",
       "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":" + a +
           "}\n" + "{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":" + b + "}"},
      {"eventbridge array", "[{\"detail-type\":\"x\",\"detail\":" + a +
                                "},{\"detail-type\":\"x\",\"detail\":" + b + "}]"},
  };
  for (const auto& [name, text] : inputs) {
    for (bool gz : {false, true}) {
      Counts c = ReadAll(reader, gz ? Gzip(text) : text);
      EXPECT_EQ(c.parsed, 2) << name << (gz ? " gz" : "");
      EXPECT_EQ(c.names, (std::vector<std::string>{"ListUsers", "ListRoles"})) << name;
    }
  }
  // A single pretty-printed record and a single envelope.
  EXPECT_EQ(ReadAll(reader, "  \n" + a).parsed, 1);
  EXPECT_EQ(ReadAll(reader, "{\"detail-type\":\"x\",\"detail\":" + a + "}").parsed, 1);
  // Concatenated gzip members (as `cat a.gz b.gz` makes).
  EXPECT_EQ(ReadAll(reader, Gzip(a + "\n") + Gzip(b + "\n")).parsed, 2);
}

TEST(RecordReader, BadLinesAreRecordErrorsNotFileErrors) {
  RecordReader reader;
  const std::string good = Record().Json();
  absl::Status st;
  Counts c = ReadAll(reader, good + "\n{\"eventName\": broken\n" + good + "\n", &st);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(c.records, 3);
  EXPECT_EQ(c.errors, 1);
  EXPECT_EQ(c.parsed, 2);
}

// A corrupt line costs only itself, wherever it is, the first line included, and
// whatever the corrupt line starts with.
TEST(RecordReader, CorruptFirstLinesOfJsonLinesAreRecordErrors) {
  RecordReader reader;
  const std::string good = Record().Json();
  for (const std::string bad :
       {"not json at all", "{\"eventName\": broken", "[1, 2", "\x01\x02garbage", "]"}) {
    for (const std::string& text :
         {bad + "\n" + good + "\n" + good + "\n", bad + "\n" + bad + "\n" + good + "\n" + good}) {
      absl::Status st;
      Counts c = ReadAll(reader, text, &st);
      EXPECT_TRUE(st.ok()) << bad << ": " << st;
      EXPECT_EQ(c.parsed, 2) << bad;
      EXPECT_EQ(c.errors, c.records - 2) << bad;
    }
  }
  // Named *.jsonl, even one line before a good one is enough, gzip or not.
  TempDir dir;
  for (bool gz : {false, true}) {
    const std::string path = dir.path() + (gz ? "/a.jsonl.gz" : "/a.jsonl");
    const std::string text = "garbage\n" + good + "\n";
    std::ofstream(path, std::ios::binary) << (gz ? Gzip(text) : text);
    int errors = 0, records = 0;
    absl::Status st = reader.ReadFile(path, [&](size_t, const RecordOrError& r) {
      ++records;
      if (r.error) ++errors;
    });
    EXPECT_TRUE(st.ok()) << st;
    EXPECT_EQ(records, 2);
    EXPECT_EQ(errors, 1);
  }
  EXPECT_EQ(engine::HintFromName("x/a.ndjson.gz"), engine::ContainerHint::kJsonLines);
  EXPECT_EQ(engine::HintFromName("x/a.json"), engine::ContainerHint::kUnknown);
}

TEST(RecordReader, WholeInputErrorsNameThePosition) {
  RecordReader reader;
  absl::Status st;
  ReadAll(reader, "hello", &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("byte 0"), std::string::npos);
  ReadAll(reader, "[{\"a\":1},", &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  std::string gz = Gzip(Record().Json());
  ReadAll(reader, gz.substr(0, gz.size() / 2), &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("gzip"), std::string::npos);
  // Empty input and empty containers hold no records and are fine.
  for (const char* empty : {"", "  \n", "[]", "{\"Records\":[]}"}) {
    Counts c = ReadAll(reader, empty, &st);
    EXPECT_TRUE(st.ok()) << empty;
    EXPECT_EQ(c.records, 0) << empty;
  }
}

TEST(RecordReader, ReadFileReportsMissingFiles) {
  RecordReader reader;
  absl::Status st = reader.ReadFile("/nonexistent/file.json", [](size_t, const RecordOrError&) {});
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("/nonexistent/file.json"), std::string::npos);
}

TEST(RecordReader, FilesStreamJsonLinesPlainAndGzip) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += Record().AtSecond(i).NewId().Json() + "\n";
  text += "{broken\n";
  // A last record with no newline, inside the final SIMDJSON_PADDING bytes.
  text += Record().Action("ListUsers").Json();
  RecordReader reader;
  for (const std::string& path :
       {dir.Write("lines.jsonl", text), dir.Write("lines.jsonl.gz", Gzip(text))}) {
    int records = 0, errors = 0;
    std::string last;
    ASSERT_TRUE(reader
                    .ReadFile(path,
                              [&](size_t index, const RecordOrError& r) {
                                EXPECT_EQ(index, static_cast<size_t>(records));
                                ++records;
                                if (r.error) {
                                  ++errors;
                                  return;
                                }
                                engine::Event ev;
                                ASSERT_FALSE(engine::ParseRecord(r.record, ev));
                                last = std::string(ev.event_name);
                              })
                    .ok())
        << path;
    EXPECT_EQ(records, 20002) << path;
    EXPECT_EQ(errors, 1) << path;
    EXPECT_EQ(last, "ListUsers") << path;
  }
}

TEST(RecordReader, FilesWithLinesLongerThanTheBuffer) {
  TempDir dir;
  // A 6 MB userAgent: longer than the 4 MiB stream buffer (and rejected by the
  // parser as over-long, naming the field).
  const std::string huge = Record().Agent(std::string(6 << 20, 'x')).Json();
  const std::string text = Record().Json() + "\n" + huge + "\n" + Record().Json() + "\n";
  RecordReader reader;
  for (const std::string& path :
       {dir.Write("long.jsonl", text), dir.Write("long.jsonl.gz", Gzip(text))}) {
    std::vector<std::string> fields;
    ASSERT_TRUE(reader
                    .ReadFile(path,
                              [&](size_t, const RecordOrError& r) {
                                ASSERT_EQ(r.error, nullptr);
                                engine::Event ev;
                                auto err = engine::ParseRecord(r.record, ev);
                                fields.push_back(err ? err->field : "ok");
                              })
                    .ok())
        << path;
    EXPECT_EQ(fields, (std::vector<std::string>{"ok", "userAgent", "ok"})) << path;
  }
}

// A pipe (`scan /dev/stdin`, `scan <(aws s3 cp ... -)`) cannot rewind: the two
// bytes read to tell gzip from plain text must not be lost (they were).
TEST(RecordReader, PipesAreReadFromTheirFirstByte) {
  TempDir dir;
  const std::string a = Record().Action("ListUsers").Json(),
                    b = Record().Action("ListRoles").Json();
  const std::map<std::string, std::string> inputs = {
      {"s3 delivery", "{\"Records\":[" + a + "," + b + "]}"},
      {"json lines", a + "\n" + b + "\n"},
      {"json lines gz", Gzip(a + "\n" + b + "\n")},
      {"s3 delivery gz", Gzip("{\"Records\":[" + a + "," + b + "]}")},
  };
  RecordReader reader;
  for (const auto& [name, bytes] : inputs) {
    const std::string fifo = dir.path() + "/pipe";
    std::filesystem::remove(fifo);
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << name;
    std::thread writer([&fifo, &bytes] { std::ofstream(fifo, std::ios::binary) << bytes; });
    std::vector<std::string> names;
    const absl::Status st = reader.ReadFile(fifo, [&](size_t, const RecordOrError& r) {
      ASSERT_EQ(r.error, nullptr) << name << ": " << r.error->reason;
      engine::Event ev;
      ASSERT_FALSE(engine::ParseRecord(r.record, ev)) << name;
      names.emplace_back(ev.event_name);
    });
    writer.join();
    EXPECT_TRUE(st.ok()) << name << ": " << st;
    EXPECT_EQ(names, (std::vector<std::string>{"ListUsers", "ListRoles"})) << name;
  }
}

TEST(RecordReader, CorruptGzipFileIsAnErrorNamingTheFile) {
  TempDir dir;
  std::string gz = Gzip(Record().Json() + "\n" + Record().Json() + "\n");
  const std::string path = dir.Write("bad.json.gz", gz.substr(0, gz.size() - 12));
  RecordReader reader;
  absl::Status st = reader.ReadFile(path, [](size_t, const RecordOrError&) {});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.json.gz"), std::string::npos) << st;
}

// Rows of SOURCES.md: "| <file> | <events> | <aws-cli events> | <burst> | ..."
struct SourceRow {
  int events = 0, cli = 0;
  bool burst = false;
};

std::map<std::string, SourceRow> ReadSources(const std::string& datasets) {
  std::ifstream in(datasets + "/SOURCES.md");
  EXPECT_TRUE(in) << "missing " << datasets << "/SOURCES.md";
  std::map<std::string, SourceRow> rows;
  std::string section, line;
  const std::regex row(R"(^\| ([^|]+\.json) \| (\d+) \| (\d+) \| (yes|no) \|)");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      rows[section + "/" + m[1].str()] = {std::stoi(m[2]), std::stoi(m[3]), m[4] == "yes"};
    }
  }
  return rows;
}

TEST(Datasets, EveryRecordParsesAndCountsMatchSources) {
  const std::string datasets = TRAILSENTRY_DATASETS_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(datasets))
      << datasets << " is missing: the tests read the datasets vendored in tests/data/cloudtrail";
  const std::map<std::string, SourceRow> sources = ReadSources(datasets);
  ASSERT_GT(sources.size(), 80u);
  engine::Config config;
  engine::EventClassifier classifier(config);
  RecordReader reader;
  int files = 0, total = 0;
  std::string key;
  for (const auto& [name, expected] : sources) {
    const std::string path = datasets + "/" + name;
    if (!std::filesystem::exists(path)) {
      ADD_FAILURE() << "listed in SOURCES.md but missing: " << path;
      continue;
    }
    int records = 0, cli = 0, rejected = 0;
    absl::Status st = reader.ReadFile(path, [&](size_t index, const RecordOrError& r) {
      ++records;
      engine::Event ev;
      std::optional<engine::RecordError> err;
      if (r.error) {
        err = *r.error;
      } else {
        err = engine::ParseRecord(r.record, ev);
      }
      if (err) {
        ++rejected;
        ADD_FAILURE() << path << " record " << index << ": " << err->field << ": " << err->reason;
        return;
      }
      if (engine::IsAwsCliUserAgent(ev.user_agent)) ++cli;
      (void)classifier.Classify(ev, key);
    });
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(records, expected.events) << path;
    EXPECT_EQ(cli, expected.cli) << path;
    EXPECT_EQ(rejected, 0) << path;
    ++files;
    total += records;
  }
  EXPECT_EQ(files, 91);
  EXPECT_EQ(total, 2900 + 310 + 103);
}

TEST(Datasets, NoBurstWhereSourcesSaysNone) {
  // SOURCES.md marks no file as holding an aws-cli burst; the engine agrees, in
  // both window modes.
  const std::string datasets = TRAILSENTRY_DATASETS_DIR;
  for (engine::BurstMode mode : {engine::BurstMode::kSliding, engine::BurstMode::kTumbling}) {
    engine::Config config;
    config.burst.mode = mode;
    auto eng = engine::Engine::Create(config).value();
    RecordReader reader;
    std::vector<engine::AlertChange> changes;
    int evaluated = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(datasets)) {
      if (entry.path().extension() != ".json") continue;
      ASSERT_TRUE(reader
                      .ReadFile(entry.path().string(),
                                [&](size_t, const RecordOrError& r) {
                                  engine::Event ev;
                                  if (!r.error && !engine::ParseRecord(r.record, ev)) {
                                    eng->Evaluate("default", ev, changes);
                                    ++evaluated;
                                  }
                                })
                      .ok());
    }
    EXPECT_EQ(evaluated, 3313);
    EXPECT_TRUE(changes.empty());
  }
}

}  // namespace
}  // namespace trailsentry::testing

namespace trailsentry::testing {
namespace {

// Opens `bytes` with limits; the records ForEach hands over, and its status.
struct Opened {
  absl::StatusOr<size_t> count;
  absl::Status each;
  int records = 0;
};

Opened OpenWithLimits(RecordReader& reader, const std::string& bytes, engine::ReadLimits limits) {
  Opened o{reader.Open(bytes, engine::ContainerHint::kUnknown, limits), absl::OkStatus(), 0};
  if (o.count.ok()) o.each = reader.ForEach([&](size_t, const RecordOrError&) { ++o.records; });
  return o;
}

TEST(RecordReaderLimits, CountsEveryContainerBeforeReadingIt) {
  RecordReader reader;
  const std::string r = Record().Json();
  const std::string lines = r + "\n\n" + r + "\n   \n" + r + "\n";
  const std::string s3 = "{\"Records\":[" + r + "," + r + "," + r + "]}";
  const std::string array = "[" + r + "," + r + "," + r + "]";
  for (const std::string& input : {lines, s3, array, Gzip(lines), Gzip(s3)}) {
    Opened o = OpenWithLimits(reader, input, {.max_records = 3});
    ASSERT_TRUE(o.count.ok()) << o.count.status();
    EXPECT_EQ(*o.count, 3u);
    EXPECT_TRUE(o.each.ok());
    EXPECT_EQ(o.records, 3);
    o = OpenWithLimits(reader, input, {.max_records = 2});
    EXPECT_EQ(o.count.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_NE(o.count.status().message().find("more than 2 records"), std::string::npos);
    EXPECT_EQ(o.records, 0) << "nothing is read past a limit";
  }
}

TEST(RecordReaderLimits, ContainerLinesAreStoppedAtTheLimitWhileRead) {
  // Two lines, each an S3 delivery file of three records: the count is known
  // only while reading; ForEach stops at the limit and says so.
  RecordReader reader;
  const std::string r = Record().Json();
  const std::string line = "{\"Records\":[" + r + "," + r + "," + r + "]}";
  Opened o = OpenWithLimits(reader, line + "\n" + line + "\n", {.max_records = 4});
  ASSERT_TRUE(o.count.ok());
  EXPECT_EQ(*o.count, 2u);
  EXPECT_EQ(o.each.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(o.records, 4);
}

TEST(RecordReaderLimits, GzipStopsInflatingAtTheLimit) {
  RecordReader reader;
  const std::string bomb = Gzip(std::string(size_t{64} << 20, ' '));  // 64 MiB from ~64 KiB
  Opened o = OpenWithLimits(reader, bomb, {.max_inflated_bytes = size_t{1} << 20});
  EXPECT_EQ(o.count.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(o.count.status().message().find("inflates to more than 1048576 bytes"),
            std::string::npos)
      << o.count.status();
  // Exactly at the limit is fine; a byte more is not.
  const std::string r = Record().Json() + "\n";
  o = OpenWithLimits(reader, Gzip(r), {.max_inflated_bytes = r.size()});
  EXPECT_TRUE(o.count.ok()) << o.count.status();
  o = OpenWithLimits(reader, Gzip(r), {.max_inflated_bytes = r.size() - 1});
  EXPECT_EQ(o.count.status().code(), absl::StatusCode::kResourceExhausted);
  // Trim frees what the large input grew; the reader still reads.
  reader.Trim(1 << 20);
  o = OpenWithLimits(reader, Gzip(r), {});
  EXPECT_EQ(o.records, 1);
}

}  // namespace
}  // namespace trailsentry::testing
