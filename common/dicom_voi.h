// Which VOI (window) transform maps a DICOM image's modality values to grey levels.
#ifndef EXPLAINER_COMMON_DICOM_VOI_H_
#define EXPLAINER_COMMON_DICOM_VOI_H_

namespace explainer::common {

struct DicomVoi {
  enum class Kind {
    kFile,       // the file's first VOI LUT, else its first window, else min-max
    kWindow,     // the file's Window Center / Width pair number `number`
    kVoiLut,     // the file's VOI LUT Sequence item number `number`
    kExplicit,   // the caller's centre and width, in modality units
    kMinMax,     // the min-max of the modality values
  };
  Kind kind = Kind::kFile;
  int number = 1;  // from 1, as dcmj2pnm's +Wi / +Wl count
  double center = 0;
  double width = 0;  // > 0 for kExplicit
};

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_DICOM_VOI_H_
