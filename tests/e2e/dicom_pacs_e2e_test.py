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
   storage. Five radiographs (five studies, five transfer syntaxes) are stored over
   its REST API; `explainer infer --input-pacs ORTHANC@... --pacs-study ...` pulls
   them itself with C-GET (as stored: no transcoding), explains them with
   `--dicom-out`, and the Secondary Capture and SR are stored back with DCMTK's
   storescu (C-STORE). Orthanc is then asked (REST /tools/find) for them: they are
   in the source's study, in their own series, the SR's references resolve to the
   source and the overlay, its bundle hash is sha256sum's of the server's bundle,
   and dsrdump reads the SR Orthanc returns. A second pull leaves Explainer's own
   overlays and reports out; no UID reaches the server's log or the client's output.
3. --input-pacs errors: no PACS, unknown study, an AE title the PACS refuses.
4. --dicom-voi (window:2, lut:1, minmax, CENTER,WIDTH) gives exactly what the same
   VOI rendered by dcmj2pnm gives as PNG.

Binaries from $EXPLAINER_SERVER and $EXPLAINER_CLIENT; $EXPLAINER_MODEL, when set,
is the bundle (else models/demo/explainer-demo.pt). About 40 s on 2 cores.
"""
import hashlib
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
        # The bundle by path: the SR must name it by the hash sha256sum gives.
        cls.model = os.environ.get("EXPLAINER_MODEL") or os.path.join(
            ROOT, "models", "demo", "explainer-demo.pt")
        args = [cls.server_bin, f"--address={cls.target}", "--threads=1", "--workers=1",
                f"--model={cls.model}"]
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
        return self.run_infer([f"--input_dir={folder}", f"--out={out}", *extra])

    def run_infer(self, args, results=True):
        run = subprocess.run(
            [self.client, "infer", f"--server={self.target}", "--window=4", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        if not results:
            return run, None
        out = next(a.split("=", 1)[1] for a in args if a.startswith("--out="))
        path = os.path.join(out, "results.jsonl")
        self.assertTrue(os.path.exists(path), run.stderr)
        with open(path) as f:
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
        """Orthanc once per class: test_2 fills it, test_3 may run on its own."""
        cls = type(self)
        if cls.orthanc is not None and cls.orthanc.poll() is None:
            return
        cls.http_port, cls.dicom_port = free_port(), free_port()
        storage = os.path.join(self.tmp, "orthanc-db")
        config = {
            "Name": "ExplainerE2E", "StorageDirectory": storage, "IndexDirectory": storage,
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "Plugins": [],
            "DicomCheckCalledAet": False, "HttpServerEnabled": True, "StorageCompression": False,
            # The client's C-GET: Orthanc answers only the modalities it knows.
            "DicomModalities": {"explainer": {"AET": "EXPLAINER", "Host": "127.0.0.1",
                                              "Port": 104, "AllowGet": True}},
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

    # Five studies in five transfer syntaxes (each its own SOP Instance UID).
    PACS_CASES = ["jpeg_lossless_mono2_u16", "jpegls_lossless_mono2_u12", "rle_mono1_u16",
                  "mono2_u10_window", "deflate_mono1_u12"]

    def pull_from_pacs(self, out, *extra):
        """`explainer infer --input-pacs` over the PACS cases' studies."""
        studies = ",".join(self.case(n)["study_instance_uid"] for n in self.PACS_CASES)
        return self.run_infer([f"--input_pacs=ORTHANC@127.0.0.1:{self.dicom_port}",
                               f"--pacs_study={studies}", f"--out={out}", *extra])

    def case(self, name):
        return next(c for c in self.cases if c["name"] == name)

    def test_2_orthanc_store_pull_explain_store_back_query(self):
        self.start_orthanc()
        sources = [self.case(n) for n in self.PACS_CASES]
        for c in sources:
            with open(os.path.join(self.cases_dir, c["file"]), "rb") as f:
                self.rest("/instances", data=f.read(), method="POST")
        # The client pulls the studies itself (C-GET), explains them and writes the
        # objects; nothing is exported to a folder first.
        out, dcm = os.path.join(self.tmp, "out_pacs"), os.path.join(self.tmp, "dcm_out")
        run, records = self.pull_from_pacs(out, f"--dicom_out={dcm}",
                                           f"--dicom_uid_root={UID_ROOT}")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"{len(sources)} radiograph(s) pulled from the PACS", run.stdout)
        by_uid = {r["sop_instance_uid"]: r for r in records.values()}
        self.assertEqual(set(by_uid), {c["sop_instance_uid"] for c in sources})
        stored = []
        for c in sources:
            record = by_uid[c["sop_instance_uid"]]
            self.assertIsNone(record["error"])
            self.assertIsNone(record["output_error"])
            # Named by position, not by UID; pulled as stored (no transcoding).
            self.assertRegex(record["file"], r"^image_000[1-5]\.dcm$")
            pulled = pydicom.dcmread(os.path.join(out, "pacs_input", record["file"]),
                                     stop_before_pixels=True)
            self.assertEqual(str(pulled.file_meta.TransferSyntaxUID), c["transfer_syntax"])
            stored += [os.path.join(dcm, record["outputs"]["dicom_overlay"]),
                       os.path.join(dcm, record["outputs"]["dicom_sr"])]
        subprocess.run(["storescu", "-aec", "ORTHANC", "127.0.0.1", str(self.dicom_port),
                        *stored], check=True, timeout=60)
        bundle_sha256 = subprocess.run(["sha256sum", self.model], check=True,
                                       stdout=subprocess.PIPE, text=True).stdout.split()[0]
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
            # The SR Orthanc holds references this source and an overlay it also holds,
            # and names the bundle by the hash sha256sum gives for the server's file.
            sr_id = report["Instances"][0]
            sr_path = os.path.join(self.tmp, f"{sr_id}.dcm")
            with open(sr_path, "wb") as f:
                f.write(self.rest(f"/instances/{sr_id}/file"))
            dump = subprocess.run(["dsrdump", "+Pu", "+Pl", sr_path], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout
            self.assertIn(f'"{c["sop_instance_uid"]}"', dump)
            self.assertIn("Predicted class", dump)
            self.assertIn(f"bundle_sha256={bundle_sha256};", dump)
            sc_uid = pydicom.dcmread(sr_path).ContentSequence[-1].ReferencedSOPSequence[0] \
                .ReferencedSOPInstanceUID
            self.assertTrue(sc_uid.startswith(UID_ROOT + "."))
            found = self.rest_json("/tools/find", {
                "Level": "Instance", "Query": {"SOPInstanceUID": sc_uid}})
            self.assertEqual(len(found), 1, "overlay referenced by the SR is in Orthanc")
            self.assertEqual(found[0], overlay["Instances"][0])
        # A second pull of the same studies: the same names, and Explainer's own
        # overlays are not taken for radiographs (the SRs are not image classes).
        run2, records2 = self.pull_from_pacs(os.path.join(self.tmp, "out_pacs2"))
        self.assertEqual(run2.returncode, 0, run2.stderr)
        self.assertIn(f"({len(sources)} Explainer overlay(s) not pulled again; "
                      f"{len(sources)} report(s) left out)", run2.stdout)
        self.assertEqual({r["file"]: r["sop_instance_uid"] for r in records2.values()},
                         {r["file"]: r["sop_instance_uid"] for r in records.values()})
        # Privacy: nothing of the DICOM headers reaches the server's log or the
        # client's output.
        self.server_log.flush()
        with open(self.server_log.name) as f:
            log = f.read()
        for text in (log, run.stdout + run.stderr, run2.stdout + run2.stderr):
            self.assertNotIn("PHANTOM", text)
            for c in sources:
                self.assertNotIn(c["sop_instance_uid"], text)
                self.assertNotIn(c["study_instance_uid"], text)

    def test_3_pacs_errors_are_named(self):
        self.start_orthanc()
        run, _ = self.run_infer([f"--input_pacs=NOBODY@127.0.0.1:{free_port()}",
                                 "--pacs_study=1.2.3", f"--out={self.tmp}/out_nopacs"],
                                results=False)
        self.assertEqual(run.returncode, 3, run.stderr)  # the server/PACS is unreachable
        self.assertIn("--input-pacs: no association with NOBODY@127.0.0.1:", run.stderr)
        run, _ = self.run_infer([f"--input_pacs=ORTHANC@127.0.0.1:{self.dicom_port}",
                                 "--pacs_study=1.2.826.0.1.3680043.10.1188.404",
                                 f"--out={self.tmp}/out_nostudy"], results=False)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn(f"--input-pacs: study 1 of 1: ORTHANC@127.0.0.1:{self.dicom_port} sent "
                      "nothing (C-GET status 0x", run.stderr)
        run, _ = self.run_infer([f"--input_pacs=ORTHANC@127.0.0.1:{self.dicom_port}",
                                 "--pacs_study=1.2.3", "--pacs_aet=STRANGER",
                                 f"--out={self.tmp}/out_stranger"], results=False)
        self.assertNotEqual(run.returncode, 0)
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertIn("does not let AE title STRANGER retrieve", run.stderr)

    def test_4_voi_choice_over_the_wire_equals_dcmj2pnm(self):
        """--dicom-voi gives exactly the prediction and overlay of the same VOI rendered
        to PNG by DCMTK."""
        for c in [c for c in self.cases if "voi" in c]:
            src = os.path.join(self.cases_dir, c["file"])
            folder = os.path.join(self.tmp, "voi_" + c["name"])
            os.makedirs(os.path.join(folder, "dcm"))
            os.makedirs(os.path.join(folder, "png"))
            shutil.copy(src, os.path.join(folder, "dcm", "image.dcm"))
            subprocess.run(["dcmj2pnm", "+on", *c["dcmj2pnm"], src,
                            os.path.join(folder, "png", "image.png")], check=True)
            _, d = self.infer(os.path.join(folder, "dcm"), os.path.join(folder, "out_d"),
                              f"--dicom_voi={c['voi_flag']}")
            _, p = self.infer(os.path.join(folder, "png"), os.path.join(folder, "out_p"))
            d, p = d["image.dcm"], p["image.png"]
            self.assertIsNone(d["error"], c["name"])
            self.assertEqual(d["probabilities"], p["probabilities"], c["name"])
            a = cv2.imread(os.path.join(folder, "out_d", d["outputs"]["overlay"]))
            b = cv2.imread(os.path.join(folder, "out_p", p["outputs"]["overlay"]))
            self.assertEqual(int(np.abs(a.astype(int) - b.astype(int)).max()), 0, c["name"])


    def test_5_no_uid_reaches_the_audit_log_or_any_log(self):
        """Files named by their SOP Instance UID (as PACS exports name them), sent to a
        server with an audit log and JSON logging: no UID and no patient name in the
        audit log, the server's log or the client's output; the client names the
        failed ones by hashed UID."""
        folder = os.path.join(self.tmp, "named_by_uid")
        os.makedirs(folder)
        good = [c for c in self.cases if "reference" in c and "voi" not in c][:3]
        bad = [c for c in self.cases if "error" in c][:2]
        uids = [c["sop_instance_uid"] for c in good]
        for c in good:
            shutil.copy(os.path.join(self.cases_dir, c["file"]),
                        os.path.join(folder, c["sop_instance_uid"] + ".dcm"))
        hashed_names = []  # what the summary must call the broken files
        for i, c in enumerate(bad):  # broken files under UID-like names
            name = f"1.2.826.0.1.3680043.10.1188.66.{i + 1}"
            src = os.path.join(self.cases_dir, c["file"])
            shutil.copy(src, os.path.join(folder, name))
            # The hash of the UID inside when the header reads, else of the name.
            inside = str(pydicom.dcmread(src, stop_before_pixels=True).SOPInstanceUID)
            uids += [name, inside]
            hashed_names.append(hashlib.sha256((inside or name).encode()).hexdigest()[:16])
        audit = os.path.join(self.tmp, "audit.jsonl")
        log = open(os.path.join(self.tmp, "server_json.log"), "w+")
        target = f"127.0.0.1:{free_port()}"
        server = subprocess.Popen(
            [self.server_bin, f"--address={target}", "--threads=1", "--workers=1",
             f"--model={self.model}", f"--audit_log={audit}", "--log_format=json"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and "serving model" not in server.stdout.readline():
                self.assertIsNone(server.poll(), "server did not start")
            out = os.path.join(self.tmp, "out_named_by_uid")
            run = subprocess.run(
                [self.client, "infer", f"--server={target}", f"--input_dir={folder}",
                 f"--out={out}", f"--dicom_out={out}/dcm"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        server_log = log.read()
        log.close()
        server.stdout.close()
        with open(audit) as f:
            audit_lines = [json.loads(line) for line in f if line.strip()]
        items = [line for line in audit_lines if line["event"] == "item"]
        self.assertEqual(len(items), len(good) + len(bad))
        self.assertTrue(all(len(line["image_sha256"]) == 64 for line in items))
        texts = {"audit log": json.dumps(audit_lines), "server log": server_log,
                 "client output": run.stdout + run.stderr}
        for where, text in texts.items():
            self.assertNotIn("PHANTOM", text, where)
            for uid in uids:
                self.assertNotIn(uid, text, where)
        # The summary names the broken files by the SHA-256 of their UID.
        for hashed in hashed_names:
            self.assertIn(f"dicom-{hashed}: INVALID_ARGUMENT", run.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
