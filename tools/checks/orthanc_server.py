#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A throw-away Orthanc server for tests/check_orthanc.sh and the Orthanc benchmark: Debian's
Orthanc on a free loopback port with a temporary configuration (HTTP authentication on with a
random password, no DICOM server, remote access off), its pid kept in WORK/orthanc.pid so that
the calling suite can stop it whatever happens, and a small REST client."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode


def orthanc_binary():
    """ORTHANC_BIN, else Orthanc on the PATH, else Debian's (in /usr/sbin, which the PATH of
    a user other than root may leave out)."""
    return os.environ.get("ORTHANC_BIN") or shutil.which("Orthanc") or "/usr/sbin/Orthanc"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    """One Orthanc server at a time, on a temporary configuration."""

    def __init__(self, work, plugin):
        self.work, self.plugin = work, plugin
        self.user, self.password = "bmc", secrets.token_hex(8)
        self.process = None
        self.log_path = os.path.join(work, "orthanc.log")

    def start(self, section, with_plugin=True, **options):
        self.port = free_port()
        config = {
            "Name": "biomedclip-test", "StorageDirectory": os.path.join(self.work, "db"),
            "IndexDirectory": os.path.join(self.work, "db"), "HttpPort": self.port,
            "DicomServerEnabled": False, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True, "RegisteredUsers": {self.user: self.password},
            "HttpDescribeErrors": True, "Plugins": [self.plugin] if with_plugin else [],
            "ConcurrentJobs": 1, "HttpThreadsCount": 8,
        }
        config.update(options)
        if section is not None:
            config["BiomedClip"] = section
        path = os.path.join(self.work, "orthanc.json")
        with open(path, "w") as f:
            json.dump(config, f)
        log = open(self.log_path, "a")
        self.process = subprocess.Popen([orthanc_binary(), "--verbose", path], stdout=log,
                                        stderr=subprocess.STDOUT, cwd=self.work)
        log.close()
        with open(os.path.join(self.work, "orthanc.pid"), "w") as f:
            f.write("%d\n" % self.process.pid)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Orthanc exited with %d (see its log)" % self.process.returncode)
            try:
                if self.request("GET", "/system")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("Orthanc did not answer within 60 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        try:
            os.remove(os.path.join(self.work, "orthanc.pid"))
        except FileNotFoundError:
            pass

    def crash(self):
        """Kill Orthanc (SIGKILL): the plugin gets no chance to save."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stop()

    def request(self, method, path, data=None, auth=True):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                         method=method)
        if auth:
            token = b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
            request.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def get(self, path, **args):
        query = urllib.parse.urlencode(args)
        return self.request("GET", path + ("?" + query if query else ""))

    def get_json(self, path, **args):
        status, body = self.get(path, **args)
        if status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, status, body[:300]))
        return json.loads(body)

    def wait_state(self, states, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.get_json("/biomedclip/status")
            if status["State"] in states:
                return status
            time.sleep(0.2)
        raise RuntimeError("the plugin stayed %s" % status["State"])

    def wait_drained(self, timeout=300):
        """Until the worker has applied every change Orthanc has logged and every deletion."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.get_json("/biomedclip/status")
            if status.get("Queue") == 0 and status["LastChange"] >= status["OrthancLastChange"]:
                return status
            time.sleep(0.2)
        raise RuntimeError("the queue did not drain: %s" % status)


def upload(orthanc, path):
    with open(path, "rb") as f:
        status, body = orthanc.request("POST", "/instances", f.read())
    if status != 200:
        return None
    answer = json.loads(body)
    return answer if answer.get("Status") in ("Success", "AlreadyStored") else None
