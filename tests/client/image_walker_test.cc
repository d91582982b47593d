// Tests of client/image_walker: recursive discovery, pairing, output stems, errors.
#include "client/image_walker.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> RelativePaths(const std::vector<ImageItem>& items) {
  std::vector<std::string> paths;
  for (const ImageItem& item : items) paths.push_back(item.relative_path);
  return paths;
}

TEST(HasImageExtensionTest, AcceptsKnownExtensionsInAnyCase) {
  for (const char* name : {"a.jpg", "a.JPEG", "b/c.Png", "x.bmp", "x.tif", "x.TIFF", "x.webp"}) {
    EXPECT_TRUE(HasImageExtension(name)) << name;
  }
  for (const char* name : {"a.json", "a.txt", "png", "a.png.bak", "a.gif", "a"}) {
    EXPECT_FALSE(HasImageExtension(name)) << name;
  }
}

TEST(FindImagesTest, WalksRecursivelySortedAndSkipsOtherFiles) {
  TempDir dir;
  dir.Write("in/z.png", "x");
  dir.Write("in/a/b.JPG", "x");
  dir.Write("in/a/c/d.tiff", "x");
  dir.Write("in/notes.txt", "x");
  dir.Write("in/a/b.json", "{}");
  dir.Write("in/B.webp", "x");
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  // Byte order: upper case before lower case, folders by their path.
  EXPECT_THAT(RelativePaths(*items), ElementsAre("B.webp", "a/b.JPG", "a/c/d.tiff", "z.png"));
  EXPECT_EQ((*items)[1].path, dir.Path("in/a/b.JPG"));
  EXPECT_EQ((*items)[1].output_stem, "a/b");
  EXPECT_EQ((*items)[2].output_stem, "a/c/d");
  for (const ImageItem& item : *items) EXPECT_EQ(item.annotation_path, "");
}

TEST(FindImagesTest, PairsMirroredAnnotationsBeforeFlatOnes) {
  TempDir dir;
  dir.Write("in/IMG1.jpeg", "x");
  dir.Write("in/sub/IMG2.jpeg", "x");
  dir.Write("in/sub/IMG3.jpeg", "x");
  dir.Write("in/IMG4.jpeg", "x");
  dir.Write("ann/IMG1.json", "{}");
  dir.Write("ann/IMG2.json", "{}");      // flat (BTXRD's Annotations/)
  dir.Write("ann/sub/IMG3.json", "{}");  // mirrored wins over flat
  dir.Write("ann/IMG3.json", "{}");
  auto items = FindImages(WalkOptions{"", dir.Path("in"), dir.Path("ann"), ""});
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].annotation_path, dir.Path("ann/IMG1.json"));
  EXPECT_EQ((*items)[1].annotation_path, "");  // IMG4: none
  EXPECT_EQ((*items)[2].relative_path, "sub/IMG2.jpeg");
  EXPECT_EQ((*items)[2].annotation_path, dir.Path("ann/IMG2.json"));
  EXPECT_EQ((*items)[3].annotation_path, dir.Path("ann/sub/IMG3.json"));
}

TEST(FindImagesTest, SameStemInOneFolderGetsDistinctOutputs) {
  TempDir dir;
  dir.Write("in/a.jpg", "x");
  dir.Write("in/a.png", "x");
  dir.Write("in/x/a.png", "x");  // other folder: mirrored, no clash
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  std::vector<std::string> stems;
  for (const ImageItem& item : *items) stems.push_back(item.output_stem);
  EXPECT_THAT(stems, ElementsAre("a_jpg", "a_png", "x/a"));
}

TEST(FindImagesTest, SkipsTheOutputFolderInsideTheInput) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write("in/out/a_overlay.png", "x");
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", dir.Path("in/out")});
  ASSERT_THAT(items, IsOk());
  EXPECT_THAT(RelativePaths(*items), ElementsAre("a.png"));
}

TEST(FindImagesTest, SingleImageWithFlatAnnotation) {
  TempDir dir;
  const std::string image = dir.Write("some/IMG9.jpeg", "x");
  dir.Write("ann/IMG9.json", "{}");
  auto items = FindImages(WalkOptions{image, "", dir.Path("ann"), ""});
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].relative_path, "IMG9.jpeg");
  EXPECT_EQ((*items)[0].output_stem, "IMG9");
  EXPECT_EQ((*items)[0].annotation_path, dir.Path("ann/IMG9.json"));
}

TEST(FindImagesTest, ErrorsNameTheFlagAndThePath) {
  TempDir dir;
  dir.Write("empty/readme.txt", "x");
  dir.Write("file.png", "x");

  auto missing = FindImages(WalkOptions{"", dir.Path("nope"), "", ""});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("--input-dir: "));
  EXPECT_THAT(missing.status().message(), HasSubstr("nope does not exist"));

  auto not_dir = FindImages(WalkOptions{"", dir.Path("file.png"), "", ""});
  EXPECT_THAT(not_dir.status().message(), HasSubstr("is not a folder"));

  auto empty = FindImages(WalkOptions{"", dir.Path("empty"), "", ""});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(empty.status().message(), HasSubstr("no images (.jpg .jpeg .png"));

  auto image_is_dir = FindImages(WalkOptions{dir.Path("empty"), "", "", ""});
  EXPECT_THAT(image_is_dir.status().message(), HasSubstr("--image: "));
  EXPECT_THAT(image_is_dir.status().message(), HasSubstr("is a folder; use --input-dir"));

  auto image_missing = FindImages(WalkOptions{dir.Path("gone.png"), "", "", ""});
  EXPECT_THAT(image_missing.status().message(), HasSubstr("gone.png does not exist"));

  auto bad_annotations = FindImages(WalkOptions{"", dir.path(), dir.Path("noann"), ""});
  EXPECT_THAT(bad_annotations.status().message(),
              HasSubstr("--annotations-dir: " + dir.Path("noann") + " is not a folder"));
}

TEST(FindImagesTest, KeepsBrokenLinksSoTheyAreReportedLater) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  std::filesystem::create_symlink(dir.Path("in/missing-target.png"), dir.Path("in/b.png"));
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  EXPECT_THAT(RelativePaths(*items), ElementsAre("a.png", "b.png"));
}

TEST(FindImagesTest, FifosAreKeptButNeverReadAndSayWhatTheyAre) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  ASSERT_EQ(::mkfifo(dir.Path("in/b.jpg").c_str(), 0600), 0);
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  ASSERT_THAT(RelativePaths(*items), ElementsAre("a.png", "b.jpg"));
  EXPECT_THAT((*items)[0].skip, IsOk());
  EXPECT_EQ((*items)[1].skip.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*items)[1].skip.message(),
            "not sent: " + dir.Path("in/b.jpg") + " is a FIFO, not a regular file");

  auto image = FindImages(WalkOptions{dir.Path("in/b.jpg"), "", "", ""});
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ((*image)[0].skip.message(),
            "not sent: " + dir.Path("in/b.jpg") + " is a FIFO, not a regular file");
}

TEST(FindImagesTest, LinksThatLeaveTheInputFolderAreNotFollowed) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write("secret.png", "private bytes");
  std::filesystem::create_symlink(dir.Path("secret.png"), dir.Path("in/leak.png"));
  std::filesystem::create_symlink("../in/a.png", dir.Path("in/same.png"));  // stays inside
  std::filesystem::create_directories(dir.Path("in/sub"));
  std::filesystem::create_directory_symlink(dir.Path("in"), dir.Path("in/sub/loop"));
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  // The linked folder (a loop) is not entered.
  ASSERT_THAT(RelativePaths(*items), ElementsAre("a.png", "leak.png", "same.png"));
  EXPECT_THAT((*items)[0].skip, IsOk());
  EXPECT_EQ((*items)[1].skip.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*items)[1].skip.message(),
            "not sent: " + dir.Path("in/leak.png") + " is a symbolic link to " +
                std::filesystem::canonical(dir.Path("secret.png")).string() +
                ", outside --input-dir (links that leave it are not followed)");
  EXPECT_THAT((*items)[2].skip, IsOk());
}

TEST(FindImagesTest, AnnotationsThatAreNotFilesOrLeaveTheirFolderAreReported) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write("in/b.png", "x");
  dir.Write("in/c.png", "x");
  dir.Write("ann/a.json", "{}");
  ASSERT_EQ(::mkfifo(dir.Path("ann/b.json").c_str(), 0600), 0);
  dir.Write("elsewhere.json", "{}");
  std::filesystem::create_symlink(dir.Path("elsewhere.json"), dir.Path("ann/c.json"));
  auto items = FindImages(WalkOptions{"", dir.Path("in"), dir.Path("ann"), ""});
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 3u);
  EXPECT_THAT((*items)[0].skip, IsOk());
  EXPECT_EQ((*items)[1].annotation_path, dir.Path("ann/b.json"));
  EXPECT_EQ((*items)[1].skip.message(),
            "not sent: " + dir.Path("ann/b.json") + " is a FIFO, not a regular file");
  EXPECT_THAT(std::string((*items)[2].skip.message()),
              HasSubstr("ann/c.json is a symbolic link to "));
  EXPECT_THAT(std::string((*items)[2].skip.message()), HasSubstr("outside --annotations-dir"));
}

TEST(FindImagesTest, OutMustNotBeTheInputFolderHoweverItIsSpelled) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write("in/sub/b.png", "x");
  std::filesystem::create_directory_symlink(dir.Path("in"), dir.Path("alias"));
  for (const std::string& out : {dir.Path("in"), dir.Path("in/"), dir.Path("in/sub/.."),
                                 dir.Path("in/./"), dir.Path("alias")}) {
    auto items = FindImages(WalkOptions{"", dir.Path("in"), "", out});
    ASSERT_FALSE(items.ok()) << out;
    EXPECT_EQ(items.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(items.status().message()),
                HasSubstr("--out: " + out + " is the same folder as --input-dir " +
                          dir.Path("in")));
    EXPECT_THAT(std::string(items.status().message()), HasSubstr("Give --out a folder of its own"));
  }
  // And the other way round: --input-dir spelled differently from --out.
  auto items = FindImages(WalkOptions{"", dir.Path("in/"), "", dir.Path("alias")});
  EXPECT_THAT(std::string(items.status().message()), HasSubstr("is the same folder as"));
}

TEST(FindImagesTest, SkipsTheOutputFolderInsideTheInputHoweverItIsSpelled) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write("in/out/a_overlay.png", "x");
  for (const std::string& out : {dir.Path("in/out/"), dir.Path("in/sub/../out"),
                                 dir.Path("in/./out/.")}) {
    auto items = FindImages(WalkOptions{"", dir.Path("in/"), "", out});
    ASSERT_THAT(items, IsOk());
    EXPECT_THAT(RelativePaths(*items), ElementsAre("a.png")) << out;
  }
}

TEST(FindImagesTest, RequestIdsAreValidUtf8AndUnique) {
  TempDir dir;
  dir.Write("in/a.png", "x");
  dir.Write(std::string("in/b\xff.png"), "x");
  dir.Write("in/b\\xff.png", "x");  // a name that looks like the escape
  auto items = FindImages(WalkOptions{"", dir.Path("in"), "", ""});
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].request_id, "a.png");
  EXPECT_EQ((*items)[1].request_id, "b\\xff.png");
  EXPECT_EQ((*items)[2].relative_path, "b\xff.png");  // raw bytes, kept for reading
  EXPECT_EQ((*items)[2].path, dir.Path("in/b\xff.png"));
  EXPECT_EQ((*items)[2].request_id, "2:b\\xff.png");
  EXPECT_EQ((*items)[2].output_stem, "b\xff");
}

}  // namespace
}  // namespace explainer::client
