"""What the packaging tests share: free ports, bounded waits, a mosquitto of
their own, processes stopped by their pid. Standard library only."""
import os
import pwd
import re
import signal
import socket
import subprocess
import time


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, seconds, what, step=0.05):
    """Polls predicate until true, at most `seconds` (and so a bounded number of times)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise Failure(f"timed out after {seconds} s waiting for {what}")


def run(args, timeout=120, **kwargs):
    """Runs a command to its end; its output, or a Failure naming it."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise Failure(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                      f"{result.stdout}{result.stderr}")
    return result.stdout


def stop(process, seconds=10):
    """SIGTERM to the process by its pid, then its exit status (SIGKILL after `seconds`)."""
    if process.poll() is not None:
        return process.returncode
    os.kill(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        raise Failure(f"pid {process.pid} did not stop within {seconds} s of SIGTERM")


class Mosquitto:
    """A plain-TCP mosquitto on a free loopback port, in `directory`."""

    def __init__(self, directory):
        self.port = free_port()
        self.log = os.path.join(directory, "mosquitto.log")
        config = os.path.join(directory, "mosquitto.conf")
        with open(config, "w", encoding="utf-8") as f:
            # Started as root it would switch to the user "mosquitto"; stay who we are.
            f.write(f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
                    f"persistence false\nlog_dest file {self.log}\n"
                    f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.process = subprocess.Popen(["/usr/sbin/mosquitto", "-c", config],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: accepts(self.port) or self.process.poll() is not None, 10,
                       "mosquitto to listen")
            check(self.process.poll() is None, "mosquitto exited at start")
        except Failure:
            self.close()
            raise

    def close(self):
        if self.process.poll() is None:
            stop(self.process)


def set_option(text, name, value):
    """The configuration `text` with `name = value` in place of the line that
    shows the option (commented out or not). Fails when the file does not list it."""
    pattern = re.compile(rf"^#? ?{re.escape(name)} = .*$", re.M)
    check(pattern.search(text), f"the example configuration does not list '{name}'")
    return pattern.sub(lambda _: f"{name} = {value}", text, count=1)


def quoted(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
