#!/usr/bin/env python3
"""A Branchbox client in Python, standard library only: proof that any language can drive
branchboxd from the protocol documents alone (docs/protocol.md, schemas/openrpc.json).

It spawns `branchboxd --stdio` (which serves the protocol on stdin/stdout with LSP-style
Content-Length framing, or relays to the daemon already running for the state directory),
then:

  with --repo (a git repository with a branchbox.yaml):
    initialize -> system/info -> sandbox/create -> deploy/start -> deploy/subscribe (live
    stages and the first log lines) -> deploy/get (must be running) -> container/logs (the
    service's output) -> sandbox/delete
  with --container instead:
    initialize -> system/info -> container/list -> container/logs (a few lines, follow)

Every step prints what it sent and got in one line; any error answer, a deployment that does
not end running, or a timeout exits non-zero.

  python3 python_client.py --daemon dist/branchboxd.js --state-dir /tmp/bb --repo /path/to/repo --service web
  python3 python_client.py --daemon dist/branchboxd.js --state-dir /tmp/bb --container my-container
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid


class ProtocolError(Exception):
    """An error answer: code, message and the stable name from error.data.name."""

    def __init__(self, method, error):
        self.code = error.get("code")
        self.name = (error.get("data") or {}).get("name", "Error%s" % self.code)
        super().__init__("%s failed: %s (%s): %s" % (method, self.name, self.code, error.get("message")))


class StdioClient:
    """JSON-RPC 2.0 over a child process's stdin/stdout, framed as in LSP."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 1
        self.responses = {}  # id -> message
        self.streams = {}  # subscription id -> list of notification params
        self.inbox = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    # -- framing ---------------------------------------------------------------------------
    def _send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:  # headers, up to an empty line
                line = out.readline()
                if not line:
                    self.inbox.put(None)  # the daemon closed stdout
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            if length is not None:
                self.inbox.put(json.loads(out.read(length).decode("utf-8")))

    def _pump(self, deadline):
        """Takes one incoming message and files it; False on timeout."""
        try:
            message = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if message is None:
            raise RuntimeError("branchboxd closed the connection (exit code %s)" % self.proc.poll())
        for m in message if isinstance(message, list) else [message]:
            if "id" in m and "method" not in m:
                self.responses[m["id"]] = m
            elif isinstance(m.get("params"), dict) and "subscription" in m["params"]:
                self.streams.setdefault(m["params"]["subscription"], []).append(m)
        return True

    # -- requests and subscriptions --------------------------------------------------------
    def call(self, method, params=None, timeout=60.0):
        request_id = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)
        deadline = time.monotonic() + timeout
        while request_id not in self.responses:
            if not self._pump(deadline):
                raise TimeoutError("no answer to %s within %ss" % (method, timeout))
        response = self.responses.pop(request_id)
        if "error" in response:
            raise ProtocolError(method, response["error"])
        return response["result"]

    def notifications(self, subscription, timeout):
        """Yields the notifications of one subscription until its subscription/end."""
        deadline = time.monotonic() + timeout
        while True:
            pending = self.streams.get(subscription, [])
            while pending:
                message = pending.pop(0)
                yield message
                if message["method"] == "subscription/end":
                    return
            if not self._pump(deadline):
                raise TimeoutError("subscription %s: nothing within %ss" % (subscription, timeout))

    def close(self):
        try:
            self.proc.stdin.close()  # end of input ends the stdio session
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def log(step, text):
    print("%-16s %s" % (step, text), flush=True)


def stream_logs(client, container, lines_wanted, timeout, follow=True):
    """Subscribes to a container's log and prints lines: with `follow`, until `lines_wanted`
    came (then cancels); without, the last `lines_wanted` lines there are (at least one)."""
    sub = client.call("container/logs", {"id": container, "follow": follow, "tail": lines_wanted})["subscription"]
    got = 0
    cancelled = False
    for message in client.notifications(sub, timeout):
        if message["method"] == "subscription/end":
            reason = message["params"]["reason"]
            if got < (lines_wanted if follow else 1):
                raise RuntimeError("log stream ended (%s) after %d lines" % (reason, got))
            log("subscription/end", reason)
            return got
        for item in message["params"]["items"]:
            got += 1
            log("log", "[%s] %s" % (item["stream"], item["line"]))
        if follow and got >= lines_wanted and not cancelled:
            # Batches already on their way still arrive; subscription/end follows them.
            client.call("subscription/cancel", {"subscription": sub})
            cancelled = True
    return got


def deploy_flow(client, args, methods):
    for needed in ("sandbox/create", "deploy/start", "deploy/subscribe", "deploy/get", "sandbox/delete"):
        if needed not in methods:
            raise RuntimeError("this daemon has no %s; run with --container instead" % needed)
    sandbox = args.sandbox or "py-" + uuid.uuid4().hex[:8]
    created = client.call("sandbox/create", {"name": sandbox, "repoPath": args.repo})
    log("sandbox/create", "%s (network %s)" % (created["sandbox"]["name"], created["sandbox"]["network"]))
    try:
        params = {"repoPath": args.repo, "sandbox": sandbox, "services": [args.service]}
        if args.ref:
            params["ref"] = args.ref
        deployment = client.call("deploy/start", params)["deployments"][0]["id"]
        log("deploy/start", "deployment %s" % deployment)
        sub = client.call("deploy/subscribe", {"deployment": deployment})["subscription"]
        log_lines = 0
        for message in client.notifications(sub, args.timeout):
            if message["method"] == "subscription/end":
                break
            for item in message["params"]["items"]:
                if item["kind"] == "log" and log_lines < args.lines:
                    log_lines += 1
                    log("deploy log", "[%s] %s" % (item.get("source"), item.get("line")))
                elif item["kind"] == "stage" and item.get("phase") == "end":
                    log("stage", "%s %s %sms" % (item["stage"], item.get("outcome"), item.get("durationMs")))
                elif item["kind"] == "status":
                    log("status", item["status"] + (" — " + item["diagnosis"] if item.get("diagnosis") else ""))
        record = client.call("deploy/get", {"id": deployment})
        log("deploy/get", "%s %s@%s %s" % (record["status"], record["service"], (record.get("commit") or "")[:7], record.get("url", "")))
        if record["status"] != "running":
            raise RuntimeError("deployment ended %s: %s" % (record["status"], record.get("diagnosis")))
        # The service's own output so far (the fixture servers print one line when they listen).
        stream_logs(client, record.get("containerName") or "sandbox-%s-%s" % (sandbox, args.service), args.lines, args.timeout, follow=False)
    finally:
        deleted = client.call("sandbox/delete", {"name": sandbox}, timeout=args.timeout)
        log("sandbox/delete", "%s: %d containers, %d networks, %d ports" % (sandbox, deleted["containers"], deleted["networks"], deleted["ports"]))


def container_flow(client, args):
    listed = client.call("container/list", {"all": True})["containers"]
    names = [c["name"] for c in listed]
    log("container/list", "%d containers%s" % (len(listed), ", %s among them" % args.container if args.container in names else ""))
    stream_logs(client, args.container, args.lines, args.timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemon", required=True, help="branchboxd: a path to branchboxd.js (run with --node) or an executable")
    parser.add_argument("--node", default="node", help="the Node.js to run branchboxd.js with (default: node)")
    parser.add_argument("--state-dir", required=True, help="the state directory of the daemon")
    parser.add_argument("--repo", help="a git repository with a branchbox.yaml: create a sandbox and deploy it")
    parser.add_argument("--service", help="with --repo: the service to deploy")
    parser.add_argument("--ref", help="with --repo: the branch to deploy (default: its current branch)")
    parser.add_argument("--sandbox", help="with --repo: the sandbox name (default: py-<random>)")
    parser.add_argument("--container", help="without --repo: the container whose log to stream")
    parser.add_argument("--lines", type=int, default=3, help="log lines to stream (default 3)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for any one step (default 120)")
    args = parser.parse_args()
    if bool(args.repo) == bool(args.container) or (args.repo and not args.service):
        parser.error("give --repo with --service, or --container")

    argv = [args.node, args.daemon] if args.daemon.endswith(".js") else [args.daemon]
    client = StdioClient(argv + ["--stdio", "--state-dir", args.state_dir])
    try:
        init = client.call("initialize", {"clientInfo": {"name": "python-example", "version": "1"}, "processId": os.getpid()})
        methods = set(init["capabilities"]["methods"])
        log("initialize", "%s %s, protocol %s, %d methods" % (init["serverInfo"]["name"], init["serverInfo"]["version"], init["protocolVersion"], len(methods)))
        info = client.call("system/info")
        log("system/info", "pid %s, state %s, docker %s" % (info["pid"], info["stateDir"], "available" if info["docker"]["available"] else "unavailable"))
        if args.repo:
            deploy_flow(client, args, methods)
        else:
            container_flow(client, args)
        log("done", "ok")
        return 0
    except (ProtocolError, RuntimeError, TimeoutError) as e:
        print("python_client: %s" % e, file=sys.stderr, flush=True)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
