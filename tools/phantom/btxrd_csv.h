// Rows of BTXRD's dataset.csv (same header, same one-hot columns) for phantom images.
#ifndef EXPLAINER_TOOLS_PHANTOM_BTXRD_CSV_H_
#define EXPLAINER_TOOLS_PHANTOM_BTXRD_CSV_H_

#include <set>
#include <string>

namespace explainer::phantom {

// Copied verbatim from BTXRD's dataset.csv.
inline constexpr char kBtxrdHeader[] =
    "image_id,center,age,gender,hand,ulna,radius,humerus,foot,tibia,fibula,femur,"
    "hip bone,ankle-joint,knee-joint,hip-joint,wrist-joint,elbow-joint,shoulder-joint,"
    "tumor,benign,malignant,osteochondroma,multiple osteochondromas,simple bone cyst,"
    "giant cell tumor,osteofibroma,synovial osteochondroma,other bt,osteosarcoma,other mt,"
    "upper limb,lower limb,pelvis,frontal,lateral,oblique";

enum class Diagnosis { kNormal = 0, kBenign = 1, kMalignant = 2 };

struct CaseRecord {
  std::string image_id;  // file name, e.g. "IMG000001.jpeg"
  int center = 1;
  int age = 0;
  char gender = 'M';
  Diagnosis diagnosis = Diagnosis::kNormal;
  std::string subtype;          // a BTXRD subtype column; empty for Normal
  std::set<std::string> sites;  // BTXRD site columns; empty for Normal, as in BTXRD
  std::string region;           // "upper limb", "lower limb" or "pelvis"
  std::string view;             // "frontal", "lateral" or "oblique"
};

// One CSV line (no newline) in kBtxrdHeader's column order.
std::string BtxrdRow(const CaseRecord& record);

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_BTXRD_CSV_H_
