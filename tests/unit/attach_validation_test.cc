// Attaching validates every superblock field and names what was wrong.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "layout.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"
#include "shmring/stats.h"
#include "test_ring.h"
#include "xxhash.h"

namespace shmring {
namespace {

using layout::Superblock;
using testing::ScopedRingName;

// Rewrites one superblock field through the file and (by default) re-seals the header checksum.
template <typename T>
void Poke(const std::string& path, size_t offset, T value, bool reseal = true) {
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, &value, sizeof value, off_t(offset)), ssize_t(sizeof value));
  if (reseal) {
    Superblock sb;
    ASSERT_EQ(pread(fd, &sb, sizeof sb, 0), ssize_t(sizeof sb));
    sb.header_checksum = XXH3_64bits(&sb, layout::kHeaderChecksumOffset);
    ASSERT_EQ(pwrite(fd, &sb.header_checksum, 8, layout::kHeaderChecksumOffset), 8);
  }
  close(fd);
}

struct FieldCase {
  const char* field;
  size_t offset;
  uint64_t value;
  int width;  // bytes
  absl::StatusCode code;
};

class AttachRefuses : public ::testing::TestWithParam<FieldCase> {};

TEST_P(AttachRefuses, ACorruptedFieldWithAnErrorNamingTheFieldAndBothValues) {
  const FieldCase& c = GetParam();
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  const std::string path = Ring::ResolvePath(*n);
  if (c.width == 2) Poke<uint16_t>(path, c.offset, uint16_t(c.value));
  if (c.width == 4) Poke<uint32_t>(path, c.offset, uint32_t(c.value));
  if (c.width == 8) Poke<uint64_t>(path, c.offset, c.value);
  auto r = Ring::Open(*n);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), c.code) << r.status();
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find(c.field), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

using SC = absl::StatusCode;
INSTANTIATE_TEST_SUITE_P(
    EverySuperblockField, AttachRefuses,
    ::testing::Values(FieldCase{"magic", offsetof(Superblock, magic), 0x1234, 8, SC::kInvalidArgument},
                      FieldCase{"major", offsetof(Superblock, major), 2, 2, SC::kFailedPrecondition},
                      FieldCase{"superblock_size", offsetof(Superblock, superblock_size), 512, 4, SC::kFailedPrecondition},
                      FieldCase{"incompat", offsetof(Superblock, incompat), 1 << 5, 8, SC::kFailedPrecondition},
                      FieldCase{"ro_compat", offsetof(Superblock, ro_compat), 1 << 3, 8, SC::kFailedPrecondition},
                      FieldCase{"capacity", offsetof(Superblock, capacity), 12288, 8, SC::kFailedPrecondition},
                      FieldCase{"capacity", offsetof(Superblock, capacity), 2048, 8, SC::kFailedPrecondition},
                      FieldCase{"capacity", offsetof(Superblock, capacity), uint64_t{1} << 41, 8, SC::kFailedPrecondition},
                      FieldCase{"max_record", offsetof(Superblock, max_record), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"max_record", offsetof(Superblock, max_record), 5000, 4, SC::kFailedPrecondition},
                      FieldCase{"policy", offsetof(Superblock, policy), 9, 4, SC::kFailedPrecondition},
                      FieldCase{"policy", offsetof(Superblock, policy), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"max_producers", offsetof(Superblock, max_producers), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"max_producers", offsetof(Superblock, max_producers), 1025, 4, SC::kFailedPrecondition},
                      FieldCase{"max_groups", offsetof(Superblock, max_groups), 100000, 4, SC::kFailedPrecondition},
                      FieldCase{"max_groups", offsetof(Superblock, max_groups), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"control_offset", offsetof(Superblock, control_offset), 0, 8, SC::kFailedPrecondition},
                      FieldCase{"producers_offset", offsetof(Superblock, producers_offset), 100, 8, SC::kFailedPrecondition},
                      FieldCase{"groups_offset", offsetof(Superblock, groups_offset), 100, 8, SC::kFailedPrecondition},
                      FieldCase{"data_offset", offsetof(Superblock, data_offset), 4096, 8, SC::kFailedPrecondition},
                      FieldCase{"total_size", offsetof(Superblock, total_size), 1 << 30, 8, SC::kFailedPrecondition},
                      FieldCase{"producer_slot_size", offsetof(Superblock, producer_slot_size), 128, 4, SC::kFailedPrecondition},
                      FieldCase{"group_slot_size", offsetof(Superblock, group_slot_size), 128, 4, SC::kFailedPrecondition},
                      FieldCase{"initial_position", offsetof(Superblock, initial_position), 3, 8, SC::kFailedPrecondition},
                      FieldCase{"evict_after_ms", offsetof(Superblock, evict_after_ms), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"stale_after_ms", offsetof(Superblock, stale_after_ms), 0, 4, SC::kFailedPrecondition},
                      FieldCase{"unblock_after_ms", offsetof(Superblock, unblock_after_ms), 0, 4, SC::kFailedPrecondition}),
    [](const ::testing::TestParamInfo<FieldCase>& i) { return std::string(i.param.field) + "_" + std::to_string(i.index); });

TEST(Attach, ACorruptHeaderChecksumIsDataLoss) {
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  Poke<uint32_t>(Ring::ResolvePath(*n), offsetof(Superblock, stale_after_ms), 77, /*reseal=*/false);
  auto r = Ring::Open(*n);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find("header_checksum"), std::string::npos);
}

TEST(Attach, AnUnknownRoCompatBitStillAllowsAReadOnlyAttach) {
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  Poke<uint64_t>(Ring::ResolvePath(*n), offsetof(Superblock, ro_compat), 1 << 3);
  EXPECT_FALSE(Ring::Open(*n).ok());
  EXPECT_TRUE(Ring::Open(*n, {.read_only = true}).ok());
}

TEST(Attach, AnUnknownCompatBitIsIgnored) {
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  Poke<uint64_t>(Ring::ResolvePath(*n), offsetof(Superblock, compat), 1 << 7 | 1);
  EXPECT_TRUE(Ring::Open(*n).ok());
}

TEST(Attach, ATruncatedFileIsRefusedWithBothSizes) {
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  ASSERT_EQ(truncate(Ring::ResolvePath(*n).c_str(), 10000), 0);
  auto r = Ring::Open(*n);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("found 10000"), std::string::npos) << r.status();
  ASSERT_EQ(truncate(Ring::ResolvePath(*n).c_str(), 100), 0);
  EXPECT_EQ(Ring::Open(*n).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Attach, AMissingRingSaysTheFileIsGone) {
  auto r = Ring::Open("shmring-test-never-created");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/dev/shm/shmring-test-never-created"), std::string::npos);
  EXPECT_NE(r.status().message().find("gone"), std::string::npos);
}

TEST(Attach, ANonRingFileIsRefusedByItsMagic) {
  ScopedRingName n;
  const std::string path = Ring::ResolvePath(*n);
  int fd = open(path.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 65536), 0);
  close(fd);
  auto r = Ring::Open(*n);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("magic"), std::string::npos);
}

TEST(Attach, AFifoIsRefusedAsNotARegularFileWithoutBlocking) {
  ScopedRingName n;
  const std::string path = Ring::ResolvePath(*n);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  auto r = Ring::Open(*n);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos) << r.status();
  // A read-only open of a FIFO would wait for a writer; it must not.
  EXPECT_EQ(Ring::Open(*n, {.read_only = true}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Attach, ASymlinkAtTheRingNameIsNotFollowed) {
  ScopedRingName target, n;
  ASSERT_TRUE(Ring::Create(*target, {.capacity = 8192}).ok());
  ASSERT_EQ(symlink(Ring::ResolvePath(*target).c_str(), Ring::ResolvePath(*n).c_str()), 0);
  auto r = Ring::Open(*n);
  ASSERT_FALSE(r.ok()) << "a symlink planted at the ring's name must not redirect the attach";
  EXPECT_NE(r.status().message().find(Ring::ResolvePath(*n)), std::string::npos) << r.status();
  // Create refuses to write through it too (O_EXCL link: the name is taken).
  EXPECT_EQ(Ring::Create(*n, {.capacity = 8192}).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(Attach, TheGeometryOfTheDefaultRingIsTheOneInTheSpec) {
  // spec/LAYOUT.md §1.2: 64 producers, 16 groups, 1 MiB -> producers at 8192, groups at
  // 24576, data at 28672, total 1 077 248 bytes.
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 1 << 20});
  Superblock sb;
  const int fd = open(Ring::ResolvePath(*n).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, &sb, sizeof sb, 0), ssize_t(sizeof sb));
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  close(fd);
  EXPECT_EQ(sb.max_producers, 64u);
  EXPECT_EQ(sb.max_groups, 16u);
  EXPECT_EQ(sb.control_offset, 4096u);
  EXPECT_EQ(sb.producers_offset, 8192u);
  EXPECT_EQ(sb.groups_offset, 24576u);
  EXPECT_EQ(sb.data_offset, 28672u);
  EXPECT_EQ(sb.total_size, 1077248u);
  EXPECT_EQ(uint64_t(st.st_size), 1077248u);
  EXPECT_EQ(sb.major, layout::kMajor);
  EXPECT_EQ(sb.minor, layout::kMinor);
}

TEST(Naming, SlashNameIsShmOpensSpellingOfName) {
  ScopedRingName n;
  EXPECT_EQ(Ring::ResolvePath("/" + n.str()), Ring::ResolvePath(*n));
  EXPECT_EQ(Ring::ResolvePath(*n), "/dev/shm/" + n.str());
  EXPECT_EQ(Ring::ResolvePath("/tmp/x/ring"), "/tmp/x/ring");
  EXPECT_EQ(Ring::ResolvePath("./ring"), "./ring");
  ASSERT_TRUE(Ring::Create("/" + n.str(), {.capacity = 8192}).ok());
  EXPECT_TRUE(Ring::Open(*n).ok()) << "created under /dev/shm, not at /" << n.str();
  EXPECT_NE(access(("/" + n.str()).c_str(), F_OK), 0);
}

TEST(Create, AnExistingNameIsNeverOverwritten) {
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192}).ok());
  auto again = Ring::Create(*n, {.capacity = 8192});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(Create, BadOptionsAreRefusedWithTheReason) {
  ScopedRingName n;
  EXPECT_EQ(Ring::Create(*n, {.capacity = 10000}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.capacity = 4096, .max_record = 4096}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.groups = {"a", "a"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.groups = {"bad name"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.initial_position = 4}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.capacity = 2048}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.capacity = uint64_t{1} << 41}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.max_producers = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.max_producers = 1025}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Create(*n, {.max_groups = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Ring::Open(*n).ok()) << "nothing was left behind";
}

TEST(Create, TheFileHasTheRequestedModeWhateverTheUmask) {
  ScopedRingName n;
  const mode_t old = umask(077);
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 8192, .mode = 0660}).ok());
  umask(old);
  struct stat st;
  ASSERT_EQ(stat(Ring::ResolvePath(*n).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ScopedRingName d;
  ASSERT_TRUE(Ring::Create(*d, {.capacity = 8192}).ok());
  ASSERT_EQ(stat(Ring::ResolvePath(*d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "0600 by default";
}

TEST(Create, AFullTmpfsFailsCreationWithENOSPCAdviceAndLeavesNoFile) {
  char dir[] = "/tmp/shmring-tmpfs-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") != 0) {
    rmdir(dir);
    GTEST_SKIP() << "cannot mount a 1 MiB tmpfs here (needs root / CAP_SYS_ADMIN): " << strerror(errno);
  }
  const std::string path = std::string(dir) + "/big";
  auto r = Ring::Create(path, {.capacity = 4 << 20});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_NE(r.status().message().find("ENOSPC"), std::string::npos);
  EXPECT_NE(r.status().message().find("64 MiB"), std::string::npos);
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "no partial ring left behind";
  EXPECT_TRUE(Ring::Create(path, {.capacity = 256 << 10}).ok()) << "a ring that fits is created";
  umount(dir);
  rmdir(dir);
}

TEST(Create, ARingByPathWorksInAnyTmpfsDirectory) {
  char dir[] = "/dev/shm/shmring-dir-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/ring";
  ASSERT_TRUE(Ring::Create(path, {.capacity = 8192}).ok());
  auto r = Ring::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->path(), path);
  EXPECT_TRUE(Ring::Remove(path).ok());
  rmdir(dir);
}

// Libraries before layout 1.2 created rings with max_record up to capacity/2 - 32. Such
// a ring still attaches; a record that, after its padding to the wrap, could never fit
// a lap is refused at once (it used to spin forever under overwrite).
TEST(OlderRing, AClaimThatCanNeverFitWithItsPaddingIsRefusedNotWaitedFor) {
  for (Policy policy : {Policy::kBlock, Policy::kReject, Policy::kOverwrite}) {
    SCOPED_TRACE(PolicyName(policy));
    ScopedRingName n;
    ASSERT_TRUE(Ring::Create(*n, {.capacity = 4096, .max_record = 2000, .policy = policy, .groups = {"g"}}).ok());
    Poke(Ring::ResolvePath(*n), offsetof(Superblock, max_record), uint32_t{2016});  // as 1.1 allowed
    auto ring = Ring::Open(*n);
    ASSERT_TRUE(ring.ok()) << ring.status();
    auto p = *Producer::Attach(*ring, {.block_timeout = std::chrono::seconds(30)});
    auto rd = *Reader::Attach(*ring, "g");
    ASSERT_TRUE(p->Write(std::string(1008, 'a')).ok());  // 1040 + 1032 bytes: 2024 left before the wrap
    ASSERT_TRUE(p->Write(std::string(1000, 'b')).ok());
    ASSERT_EQ(rd->Poll()->size(), 2u);
    ASSERT_TRUE(rd->Commit().ok());
    absl::Status s = p->Write(std::string(2016, 'c'));  // 2024 + 2048 + 32 > 4096
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_NE(s.message().find("can never fit"), std::string_view::npos) << s;
    EXPECT_EQ((*ring)->Stats().dropped, 1u);
    EXPECT_TRUE(p->Write(std::string(2000, 'd')).ok()) << "a record that fits still does";
  }
}

}  // namespace
}  // namespace shmring
