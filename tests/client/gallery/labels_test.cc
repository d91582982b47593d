// Tests of client/gallery/labels.h and csv_reader.h: the three label forms, the
// real BTXRD dataset.csv, matching by stem and the error messages.
#include "client/gallery/labels.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/gallery/csv_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::client::gallery {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::StatusIs;

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<std::string> kClasses = {"Normal", "Benign", "Malignant"};

std::vector<std::vector<std::string>> Cells(const std::vector<CsvRow>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const CsvRow& row : rows) cells.push_back(row.cells);
  return cells;
}

TEST(ParseCsvTest, QuotesCommasCrlfBomAndBlankLines) {
  const std::string text =
      "\xEF\xBB\xBFimage,label\r\n"
      "\"a,b.jpeg\",Benign\r\n"
      "\r\n"
      "\"say \"\"hi\"\".png\",\"Normal\"\r\n"
      "\"multi\nline.jpg\",Malignant\n"
      "last.jpg,Normal";  // no final newline
  absl::StatusOr<std::vector<CsvRow>> rows = ParseCsv(text, "labels.csv");
  ASSERT_THAT(rows, IsOk());
  EXPECT_THAT(
      Cells(*rows),
      ElementsAre(ElementsAre("image", "label"), ElementsAre("a,b.jpeg", "Benign"),
                  ElementsAre("say \"hi\".png", "Normal"),
                  ElementsAre("multi\nline.jpg", "Malignant"), ElementsAre("last.jpg", "Normal")));
  EXPECT_EQ((*rows)[0].line, 1);
  EXPECT_EQ((*rows)[1].line, 2);
  EXPECT_EQ((*rows)[2].line, 4);
  EXPECT_EQ((*rows)[3].line, 5);
  EXPECT_EQ((*rows)[4].line, 7);
}

TEST(ParseCsvTest, EmptyCellsAndCrOnlyLineEnds) {
  absl::StatusOr<std::vector<CsvRow>> rows = ParseCsv("a,,c\r,b,\r", "x.csv");
  ASSERT_THAT(rows, IsOk());
  EXPECT_THAT(Cells(*rows), ElementsAre(ElementsAre("a", "", "c"), ElementsAre("", "b", "")));
}

TEST(ParseCsvTest, UnterminatedQuoteNamesTheLine) {
  absl::StatusOr<std::vector<CsvRow>> rows = ParseCsv("a,b\n\"open,Benign\nc,d\n", "l.csv");
  ASSERT_THAT(rows, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l.csv line 2")));
  EXPECT_THAT(rows.status().message(), HasSubstr("never closed"));
}

TEST(ParseCsvTest, TextAfterAClosingQuoteIsAnError) {
  absl::StatusOr<std::vector<CsvRow>> rows = ParseCsv("x,y\n\"a\"b,Benign\n", "l.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("l.csv line 2: unexpected 'b'"));
}

TEST(MatchStemTest, DropsFoldersAndImageExtensionsOnly) {
  EXPECT_EQ(MatchStem("images/IMG000001.jpeg"), "IMG000001");
  EXPECT_EQ(MatchStem("IMG000001.jpg"), "IMG000001");
  EXPECT_EQ(MatchStem("IMG000001"), "IMG000001");
  EXPECT_EQ(MatchStem("sub\\dir\\a.b.PNG"), "a.b");
  EXPECT_EQ(MatchStem("scan.v2"), "scan.v2");  // not an image extension: kept
  EXPECT_EQ(MatchStem(".jpeg"), ".jpeg");
}

// The real dataset.csv: the published counts (1,879 Normal, 1,525 Benign,
// 342 Malignant) and its file name extensions.
TEST(BtxrdCsvTest, RealDatasetGivesThePublishedCounts) {
  EXPLAINER_NEED_SHARED_DATA("btxrd/dataset.csv");
  const std::string path = testing::SharedDir() + "/btxrd/dataset.csv";
  absl::StatusOr<LabelTable> table = ReadLabels(path);
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->format, LabelFormat::kBtxrdCsv);
  std::map<std::string, int> counts;
  std::map<std::string, int> stems;
  for (const LabelEntry& entry : table->entries) {
    ++counts[entry.label];
    ++stems[entry.stem];
  }
  EXPECT_EQ(table->entries.size(), 3746u);
  EXPECT_EQ(counts["Normal"], 1879);
  EXPECT_EQ(counts["Benign"], 1525);
  EXPECT_EQ(counts["Malignant"], 342);
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_EQ(stems.size(), 3746u) << "stems must be unique to match by stem";
  EXPECT_EQ(table->entries.front().stem, "IMG000001");
  EXPECT_EQ(table->entries.front().label, "Malignant");
  EXPECT_EQ(table->entries.front().origin, "dataset.csv line 2");

  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::vector<CsvRow>> rows = ParseCsv(text, path);
  ASSERT_THAT(rows, IsOk());
  int jpeg = 0, jpg = 0;
  for (size_t r = 1; r < rows->size(); ++r) {
    const std::string& id = (*rows)[r].cells[0];
    if (id.size() > 5 && id.substr(id.size() - 5) == ".jpeg") ++jpeg;
    if (id.size() > 4 && id.substr(id.size() - 4) == ".jpg") ++jpg;
  }
  EXPECT_EQ(jpeg, 3719);
  EXPECT_EQ(jpg, 27);

  // Every label is one of the model's classes.
  std::vector<std::string> image_stems = {"IMG000001", "IMG000002", "NOT_IN_CSV"};
  absl::StatusOr<LabelMatch> match = MatchLabels(*table, image_stems, kClasses);
  ASSERT_THAT(match, IsOk());
  EXPECT_THAT(match->true_class, ElementsAre(2, 2, -1));
  EXPECT_THAT(match->unlabelled_images, ElementsAre(2u));
  EXPECT_EQ(match->labels_without_image.size(), 3744u);
}

constexpr char kBtxrdHeader[] = "image_id,center,age,gender,tumor,benign,malignant,osteosarcoma\n";

TEST(BtxrdCsvTest, MalignantWinsThenBenignElseNormal) {
  const std::string text = std::string(kBtxrdHeader) +
                           "A.jpeg,1,30,F,1,0,1,1\n"
                           "B.jpg,1,30,F,1,1,0,0\n"
                           "C.jpeg,1,30,F,0,0,0,0\n"
                           "D.jpeg,1,30,F,1,1,1,0\n";
  absl::StatusOr<LabelTable> table = ParseLabelCsv(text, "dataset.csv");
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->format, LabelFormat::kBtxrdCsv);
  std::vector<std::string> labels;
  for (const LabelEntry& e : table->entries) labels.push_back(e.stem + "=" + e.label);
  EXPECT_THAT(labels, ElementsAre("A=Malignant", "B=Benign", "C=Normal", "D=Malignant"));
}

TEST(BtxrdCsvTest, BadFlagValueNamesLineAndColumn) {
  const std::string text = std::string(kBtxrdHeader) + "A.jpeg,1,30,F,1,yes,0,0\n";
  absl::StatusOr<LabelTable> table = ParseLabelCsv(text, "dataset.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(),
            "dataset.csv line 2: column benign is 'yes', expected 0 or 1");
}

TEST(BtxrdCsvTest, ShortRowNamesTheLine) {
  const std::string text = std::string(kBtxrdHeader) + "A.jpeg,1,0,0\n";
  absl::StatusOr<LabelTable> table = ParseLabelCsv(text, "dataset.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(), "dataset.csv line 2: 4 columns, but the header has 8");
}

TEST(ImageLabelCsvTest, WithAndWithoutHeader) {
  for (const std::string& header :
       {std::string("image,label\n"), std::string("File,Class\n"), std::string("")}) {
    const std::string text = header + "dir/x1.jpeg,Benign\n x2.png , malignant \n";
    absl::StatusOr<LabelTable> table = ParseLabelCsv(text, "labels.csv");
    ASSERT_THAT(table, IsOk()) << header;
    EXPECT_EQ(table->format, LabelFormat::kImageLabelCsv);
    ASSERT_EQ(table->entries.size(), 2u) << header;
    EXPECT_EQ(table->entries[0].stem, "x1");
    EXPECT_EQ(table->entries[0].label, "Benign");
    EXPECT_EQ(table->entries[1].stem, "x2");
    EXPECT_EQ(table->entries[1].label, "malignant");
    EXPECT_EQ(table->entries[1].origin, header.empty() ? "labels.csv line 2" : "labels.csv line 3");
  }
}

TEST(ImageLabelCsvTest, HeaderlessFirstRowIsData) {
  // "diagnosis" is no header word: the row is data, and its label is unknown.
  absl::StatusOr<LabelTable> table = ParseLabelCsv("scan,diagnosis\nx.jpg,Benign\n", "l.csv");
  ASSERT_THAT(table, IsOk());
  absl::StatusOr<LabelMatch> match = MatchLabels(*table, {"x"}, kClasses);
  ASSERT_FALSE(match.ok());
  EXPECT_EQ(match.status().message(),
            "--labels: unknown label 'diagnosis' (l.csv line 1); the model's classes are "
            "Normal, Benign, Malignant");
}

TEST(ImageLabelCsvTest, WrongColumnCountAndEmptyCells) {
  absl::StatusOr<LabelTable> three = ParseLabelCsv("a.jpg,Benign,extra\n", "l.csv");
  ASSERT_FALSE(three.ok());
  EXPECT_THAT(three.status().message(),
              HasSubstr("l.csv line 1: 3 column(s); a label file has two columns"));
  absl::StatusOr<LabelTable> empty = ParseLabelCsv("image,label\na.jpg,\n", "l.csv");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "l.csv line 2: the label is empty");
  absl::StatusOr<LabelTable> nothing = ParseLabelCsv("image,label\n", "l.csv");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().message(), "l.csv: no labels in the file");
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gallery_labels_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const std::string& relative, const std::string& text = "x") {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  fs::path dir_;
};

using ClassFoldersTest = TempDir;

TEST_F(ClassFoldersTest, EverySubfolderWithImagesIsAClass) {
  Touch("Benign/b1.jpeg");
  Touch("Benign/deeper/b2.PNG");
  Touch("malignant/m1.jpg");
  Touch("Normal/n1.png");
  Touch("Normal/readme.txt");
  Touch("Annotations/b1.json");  // no images: not a class
  Touch("loose.jpg");            // not in a class folder: ignored
  Touch("out/gallery_Benign.png");
  absl::StatusOr<LabelTable> table = ReadLabels(dir_.string(), (dir_ / "out").string());
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->format, LabelFormat::kClassFolders);
  std::vector<std::string> labels;
  for (const LabelEntry& e : table->entries) labels.push_back(e.stem + "=" + e.label);
  EXPECT_THAT(labels, ElementsAre("b1=Benign", "b2=Benign", "n1=Normal", "m1=malignant"));
  absl::StatusOr<LabelMatch> match = MatchLabels(*table, {"m1", "b2", "zz"}, kClasses);
  ASSERT_THAT(match, IsOk());
  EXPECT_THAT(match->true_class, ElementsAre(2, 1, -1));
}

TEST_F(ClassFoldersTest, UnknownFolderNameIsAnErrorNamingTheFile) {
  Touch("Benign/b1.jpeg");
  Touch("Tumour/t1.jpeg");
  absl::StatusOr<LabelTable> table = ReadLabels(dir_.string());
  ASSERT_THAT(table, IsOk());
  absl::StatusOr<LabelMatch> match = MatchLabels(*table, {"b1", "t1"}, kClasses);
  ASSERT_THAT(match,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown label 'Tumour'")));
  EXPECT_THAT(match.status().message(), HasSubstr((dir_ / "Tumour/t1.jpeg").string()));
}

TEST_F(ClassFoldersTest, FolderWithoutClassFoldersIsAnError) {
  Touch("a.jpg");
  absl::StatusOr<LabelTable> table = ReadLabels(dir_.string());
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("has no class folders with images"));
}

TEST_F(ClassFoldersTest, MissingPathAndFileDetection) {
  absl::StatusOr<LabelTable> missing = ReadLabels((dir_ / "nope.csv").string());
  ASSERT_THAT(missing, StatusIs(absl::StatusCode::kNotFound,
                                "--labels: " + (dir_ / "nope.csv").string() + " does not exist"));

  Touch("labels.csv", "a.jpg,Benign\n");
  absl::StatusOr<LabelTable> csv = ReadLabels((dir_ / "labels.csv").string());
  ASSERT_THAT(csv, IsOk());
  EXPECT_EQ(csv->format, LabelFormat::kImageLabelCsv);

  Touch("bad.csv", "a.jpg,Benign,1\n");
  absl::StatusOr<LabelTable> bad = ReadLabels((dir_ / "bad.csv").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("--labels: " + (dir_ / "bad.csv").string() + " line 1: 3 column(s)"));
}

TEST(MatchLabelsTest, CountsAndListsBothKindsOfMismatch) {
  LabelTable table;
  table.entries = {{"a", "Benign", "l.csv line 1"},
                   {"b", "NORMAL", "l.csv line 2"},
                   {"c", "Malignant", "l.csv line 3"},
                   {"a", "benign", "l.csv line 4"}};  // same label again: fine
  absl::StatusOr<LabelMatch> match = MatchLabels(table, {"b", "x", "a", "y"}, kClasses);
  ASSERT_THAT(match, IsOk());
  EXPECT_THAT(match->true_class, ElementsAre(0, -1, 1, -1));
  EXPECT_THAT(match->unlabelled_images, ElementsAre(1u, 3u));
  ASSERT_EQ(match->labels_without_image.size(), 1u);
  EXPECT_EQ(match->labels_without_image[0].stem, "c");
}

TEST(MatchLabelsTest, ConflictingLabelsNameBothOrigins) {
  LabelTable table;
  table.entries = {{"a", "Benign", "l.csv line 1"}, {"a", "Malignant", "l.csv line 9"}};
  absl::StatusOr<LabelMatch> match = MatchLabels(table, {"a"}, kClasses);
  ASSERT_FALSE(match.ok());
  EXPECT_EQ(match.status().message(),
            "--labels: a has two labels: Benign (l.csv line 1) and Malignant (l.csv line 9)");
}

TEST(MatchLabelsTest, NoImagesAndNoLabels) {
  absl::StatusOr<LabelMatch> match = MatchLabels(LabelTable{}, {}, kClasses);
  ASSERT_THAT(match, IsOk());
  EXPECT_THAT(match->true_class, IsEmpty());
  EXPECT_THAT(match->labels_without_image, IsEmpty());
}

TEST(LabelFormatNameTest, Names) {
  EXPECT_EQ(LabelFormatName(LabelFormat::kBtxrdCsv), "BTXRD dataset.csv");
  EXPECT_EQ(LabelFormatName(LabelFormat::kImageLabelCsv), "image,label CSV");
  EXPECT_EQ(LabelFormatName(LabelFormat::kClassFolders), "folder per class");
}

}  // namespace
}  // namespace explainer::client::gallery
