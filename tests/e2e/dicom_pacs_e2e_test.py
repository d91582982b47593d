#!/usr/bin/env python3
"""DICOM end to end: every supported encoding through the real server and client, and
a real PACS (Orthanc) in the loop.

1. tests/data/dicom/make_dicom_cases.py builds the DICOM cases (phantoms, every
   photometric interpretation, bit depth and transfer syntax; broken ones too). The
   same pixels are rendered to PNG by DCMTK's dcmj2pnm with the same VOI choice
   (VOI LUT, else first window, else min-max). `explainer infer` over both folders:
   every DICOM item gets exactly the PNG item's prediction, probabilities and
   overlay; every broken file gets its per-item error.
2. Orthanc 1.10 (Debian's `orthanc`) starts on loopback ports with a temporary
   storage. The radiographs are stored over its REST API, pulled back over REST
   (GET /instances/{id}/file: no C-MOVE SCP to run on the client side), explained
   with `--dicom-out`, and the Secondary Capture and SR are stored back with DCMTK's
   storescu (C-STORE). Orthanc is then asked (REST /tools/find) for them: they are
   in the source's study, in their own series, the SR's references resolve to the
   source and the overlay, and dsrdump reads the SR Orthanc returns.

Binaries from $EXPLAINER_SERVER and $EXPLAINER_CLIENT; $EXPLAINER_MODEL, when set,
is the bundle (else the server's default demo bundle). About 20 s on 2 cores.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import cv2
import numpy as np
import pydicom


def repo_root():
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(here))


ROOT = repo_root()
MAKE_CASES = os.path.join(ROOT, "tests", "data", "dicom", "make_dicom_cases.py")
UID_ROOT = "1.2.826.0.1.3680043.10.1188.99"


def binary(variable):
    path = os.environ.get(variable, "")
    if not path or not os.path.exists(path):
        raise AssertionError(f"${variable} must name the binary (got {path!r})")
    return os.path.abspath(path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def voi_flag(path):
    """dcmj2pnm's VOI option for the choice common/dicom_decode.cc makes."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    if "VOILUTSequence" in ds:
        return ["+Wl", "1"]
    if "WindowCenter" in ds:
        return ["+Wi", "1"]
    return ["+Wm"]



def orthanc_binary():
    """Debian installs Orthanc in /usr/sbin, which Bazel's strict test PATH lacks."""
    found = shutil.which("Orthanc") or shutil.which(
        "Orthanc", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin")
    if found is None:
        raise FileNotFoundError("Orthanc is not installed (Debian package orthanc)")
    return found

class DicomPacsE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server_bin = binary("EXPLAINER_SERVER")
        cls.client = binary("EXPLAINER_CLIENT")
        cls.tmp = tempfile.mkdtemp(prefix="dicom_pacs_e2e_")
        cls.cases_dir = os.path.join(cls.tmp, "cases")
        subprocess.run(["/usr/bin/python3", MAKE_CASES, "--out", cls.cases_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(cls.cases_dir, "cases.json")) as f:
            cls.cases = json.load(f)
        cls.server_log = open(os.path.join(cls.tmp, "server.log"), "w+")
        port = free_port()
        cls.target = f"127.0.0.1:{port}"
        args = [cls.server_bin, f"--address={cls.target}", "--threads=1", "--workers=1"]
        if os.environ.get("EXPLAINER_MODEL"):
            args.append(f"--model={os.environ['EXPLAINER_MODEL']}")
        cls.server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=cls.server_log,
                                      text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = cls.server.stdout.readline()
            if "serving model" in line:
                break
            if cls.server.poll() is not None:
                cls.server_log.seek(0)
                raise AssertionError("server did not start: " + cls.server_log.read()[-2000:])
        cls.orthanc = None

    @classmethod
    def tearDownClass(cls):
        for proc in (cls.server, cls.orthanc):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        cls.server_log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def infer(self, folder, out, *extra):
        run = subprocess.run(
            [self.client, "infer", f"--server={self.target}", f"--input_dir={folder}",
             f"--out={out}", "--window=4", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        with open(os.path.join(out, "results.jsonl")) as f:
            return run, {json.loads(line)["file"]: json.loads(line) for line in f if line.strip()}

    def test_1_every_encoding_equals_the_same_pixels_as_png(self):
        dicom_dir = os.path.join(self.tmp, "in_dicom")
        png_dir = os.path.join(self.tmp, "in_png")
        os.makedirs(dicom_dir)
        os.makedirs(png_dir)
        good = [c for c in self.cases if "reference" in c and "voi" not in c]
        bad = [c for c in self.cases if "error" in c]
        for c in good + bad:
            # No extension: the client finds DICOM by content.
            shutil.copy(os.path.join(self.cases_dir, c["file"]),
                        os.path.join(dicom_dir, c["name"]))
        for c in good:
            src = os.path.join(self.cases_dir, c["file"])
            # dcml2pnm is DCMTK's renderer with the JPEG-LS decoders, dcmj2pnm the one
            # with JPEG and RLE.
            tool = "dcml2pnm" if c["transfer_syntax"].startswith("1.2.840.10008.1.2.4.8") \
                else "dcmj2pnm"
            subprocess.run([tool, "+on", *voi_flag(src), src,
                            os.path.join(png_dir, c["name"] + ".png")], check=True)
        _, dicom = self.infer(dicom_dir, os.path.join(self.tmp, "out_dicom"))
        _, png = self.infer(png_dir, os.path.join(self.tmp, "out_png"))
        self.assertEqual(len(dicom), len(good) + len(bad))
        worst_p, worst_px = 0.0, 0
        for c in good:
            d, p = dicom[c["name"]], png[c["name"] + ".png"]
            self.assertIsNone(d["error"], c["name"])
            self.assertEqual(d["sop_instance_uid"], c["sop_instance_uid"])
            self.assertEqual(d["predicted_class"], p["predicted_class"], c["name"])
            for k, v in d["probabilities"].items():
                worst_p = max(worst_p, abs(v - p["probabilities"][k]))
            a = cv2.imread(os.path.join(self.tmp, "out_dicom", d["outputs"]["overlay"]))
            b = cv2.imread(os.path.join(self.tmp, "out_png", p["outputs"]["overlay"]))
            worst_px = max(worst_px, int(np.abs(a.astype(int) - b.astype(int)).max()))
        print(f"\n  {len(good)} encodings: max probability difference {worst_p}, "
              f"max overlay difference {worst_px} (DICOM vs dcmj2pnm PNG)", file=sys.stderr)
        self.assertEqual(worst_p, 0.0)
        self.assertEqual(worst_px, 0)
        for c in bad:
            d = dicom[c["name"]]
            self.assertIsNotNone(d["error"], c["name"])
            self.assertEqual(d["error"]["source"], "server")
            self.assertIn(c["error"], d["error"]["message"], c["name"])

    def rest(self, path, data=None, method=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/dicom" if method != "POSTJSON"
                           else "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return body

    def rest_json(self, path, payload=None):
        if payload is None:
            return json.loads(self.rest(path))
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}",
                                     data=json.dumps(payload).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def start_orthanc(self):
        cls = type(self)
        cls.http_port, cls.dicom_port = free_port(), free_port()
        storage = os.path.join(self.tmp, "orthanc-db")
        config = {
            "Name": "ExplainerE2E", "StorageDirectory": storage, "IndexDirectory": storage,
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "Plugins": [],
            "DicomCheckCalledAet": False, "HttpServerEnabled": True, "StorageCompression": False,
        }
        path = os.path.join(self.tmp, "orthanc.json")
        with open(path, "w") as f:
            json.dump(config, f)
        cls.orthanc_log = open(os.path.join(self.tmp, "orthanc.log"), "w+")
        cls.orthanc = subprocess.Popen([orthanc_binary(), path], stdout=cls.orthanc_log,
                                       stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.rest_json("/system")
                return
            except OSError:
                if cls.orthanc.poll() is not None:
                    break
                time.sleep(0.2)
        cls.orthanc_log.seek(0)
        raise AssertionError("Orthanc did not start: " + cls.orthanc_log.read()[-2000:])

    def test_2_orthanc_store_pull_explain_store_back_query(self):
        self.start_orthanc()
        sources = [c for c in self.cases if "reference" in c and "voi" not in c][:4]
        ids = {}
        for c in sources:
            with open(os.path.join(self.cases_dir, c["file"]), "rb") as f:
                answer = json.loads(self.rest("/instances", data=f.read(), method="POST"))
            ids[c["sop_instance_uid"]] = answer["ID"]
        # Pull them back, as a clinical backend would, by Orthanc instance id.
        pulled = os.path.join(self.tmp, "pulled")
        os.makedirs(pulled)
        for uid, orthanc_id in ids.items():
            with open(os.path.join(pulled, orthanc_id), "wb") as f:
                f.write(self.rest(f"/instances/{orthanc_id}/file"))
        out, dcm = os.path.join(self.tmp, "out_pacs"), os.path.join(self.tmp, "dcm_out")
        run, records = self.infer(pulled, out, f"--dicom_out={dcm}",
                                  f"--dicom_uid_root={UID_ROOT}")
        self.assertEqual(run.returncode, 0, run.stderr)
        stored = []
        for record in records.values():
            self.assertIsNone(record["error"])
            self.assertIsNone(record["output_error"])
            stored += [os.path.join(dcm, record["outputs"]["dicom_overlay"]),
                       os.path.join(dcm, record["outputs"]["dicom_sr"])]
        subprocess.run(["storescu", "-aec", "ORTHANC", "127.0.0.1", str(self.dicom_port),
                        *stored], check=True, timeout=60)
        for c in sources:
            study = self.rest_json("/tools/find", {
                "Level": "Study", "Query": {"StudyInstanceUID": c["study_instance_uid"]}})
            self.assertEqual(len(study), 1, c["name"])
            series = self.rest_json(f"/studies/{study[0]}/series")
            described = {s["MainDicomTags"].get("SeriesDescription", ""): s for s in series}
            self.assertEqual(len(series), 3, described.keys())  # source, overlay, SR
            overlay = described["Explainer Grad-CAM grad-cam"]
            report = described["Explainer Grad-CAM grad-cam report"]
            self.assertEqual(overlay["MainDicomTags"]["Modality"], "OT")
            self.assertEqual(report["MainDicomTags"]["Modality"], "SR")
            # The SR Orthanc holds references this source and an overlay it also holds.
            sr_id = report["Instances"][0]
            sr_path = os.path.join(self.tmp, f"{sr_id}.dcm")
            with open(sr_path, "wb") as f:
                f.write(self.rest(f"/instances/{sr_id}/file"))
            dump = subprocess.run(["dsrdump", "+Pu", sr_path], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout
            self.assertIn(f'"{c["sop_instance_uid"]}"', dump)
            sc_uid = pydicom.dcmread(sr_path).ContentSequence[-1].ReferencedSOPSequence[0] \
                .ReferencedSOPInstanceUID
            self.assertTrue(sc_uid.startswith(UID_ROOT + "."))
            found = self.rest_json("/tools/find", {
                "Level": "Instance", "Query": {"SOPInstanceUID": sc_uid}})
            self.assertEqual(len(found), 1, "overlay referenced by the SR is in Orthanc")
            self.assertEqual(found[0], overlay["Instances"][0])
        # Privacy: nothing of the DICOM headers reaches the server's log.
        self.server_log.flush()
        with open(self.server_log.name) as f:
            log = f.read()
        self.assertNotIn("PHANTOM", log)
        for c in sources:
            self.assertNotIn(c["sop_instance_uid"], log)
            self.assertNotIn(c["study_instance_uid"], log)
            self.assertIn("Predicted class", dump)


if __name__ == "__main__":
    unittest.main(verbosity=2)
