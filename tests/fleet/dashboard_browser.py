#!/usr/bin/env python3
"""The dashboard as a person uses it, in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium), against a running mqota-server with a
simulated fleet (started by view_test.cpp). Asserts what the browser shows,
and what the registry then holds (through the API). Every wait is bounded.
Writes a screenshot of each page into --shots. Exit 0: every check held."""
import argparse
import json
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ARGS = None


def api(method, path, token, body=None):
    req = urllib.request.Request(ARGS.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def api_json(path):
    status, body = api("GET", path, ARGS.token)
    assert status == 200, (path, status, body)
    return json.loads(body)


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except WebDriverException as e:  # an element replaced by the next poll
            last = e
        time.sleep(0.1)
    raise AssertionError("timed out (%.0f s) waiting for %s (last: %r)" % (timeout, what, last))


def click(driver, selector):
    """Clicks `selector`, finding it again when the page's next poll replaced it."""
    def attempt():
        driver.find_element(By.CSS_SELECTOR, selector).click()
        return True
    wait("a click on " + selector, attempt, 5)


def shot(driver, name):
    path = "%s/%s.png" % (ARGS.shots, name)
    driver.save_screenshot(path)
    print("screenshot:", path)


def create(version, waves):
    status, body = api("POST", "/api/v1/campaigns", ARGS.token, {
        "name": "release " + version, "image": {"board": ARGS.board, "version": version},
        "waves": waves, "failure_percent": 0, "max_in_flight": 1})
    assert status == 201, body
    return json.loads(body)["id"]


def bar_counts(driver, campaign):
    """The bar's counts, read in one script: the page's live updates replace
    the elements, so reading them one call at a time can find them gone."""
    segments = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(s => [s.className, s.dataset.count]);",
        "#campaign-%d .bar span" % campaign)
    counts = {}
    for cls, count in segments:
        kind = cls.replace("seg-", "")
        counts[kind] = counts.get(kind, 0) + int(count)
    return counts


def summary_versions():
    return {v["version"]: v["devices"] for v in api_json("/api/v1/summary")["versions"]}


# The devices table as one script reads it (see CHART_SNAPSHOT): each row's
# device id, version and link text, the online count, and any <script>
# element that a device id smuggled in.
DEVICE_ROWS = """
const text = e => e ? e.innerText.trim() : null;
return {rows: Array.from(document.querySelectorAll('#devices tbody tr')).map(
            r => [r.dataset.device || '', text(r.querySelector('.version')),
                  text(r.querySelector('a'))]),
        online: text(document.getElementById('online-count')),
        scripts: document.querySelectorAll('#devices script').length};
"""

# The chart as one script reads it: the page redraws it at every refresh, so
# elements found in one call may be gone by the next (a stale element).
CHART_SNAPSHOT = """
const chart = document.getElementById('version-chart');
const legend = document.getElementById('version-legend');
if (!chart || !legend) return null;
return {points: Number(chart.dataset.points),
        series: Array.from(chart.querySelectorAll('g.series')).map(
            g => [g.dataset.version, Number(g.dataset.now)]),
        paths: Array.from(chart.querySelectorAll('g.series path')).map(p => p.getAttribute('d')),
        legend: legend.innerText};
"""


def check_chart(driver, what, timeout):
    """The chart holds a series per version the registry counts, each with
    the devices the summary says run it now, and its path drawn."""
    def same():
        snapshot = driver.execute_script(CHART_SNAPSHOT)
        if not snapshot or not snapshot["series"]:
            return None
        return snapshot if dict(snapshot["series"]) == summary_versions() else None
    snapshot = wait("the chart to show " + what, same, timeout)
    drawn = dict(snapshot["series"])
    points = snapshot["points"]
    history = api_json("/api/v1/versions/history?window=86400")
    assert points == len(history["times"]), (points, len(history["times"]))
    assert len(snapshot["paths"]) == len(drawn), (len(snapshot["paths"]), drawn)
    for d in snapshot["paths"]:
        assert d.count("L") >= 2 * points - 1, d[:80]
    for version, n in drawn.items():
        assert "%s %s (%d)" % (ARGS.board, version, n) in snapshot["legend"], snapshot["legend"]
    return drawn


def main():
    global ARGS
    p = argparse.ArgumentParser()
    for a in ("--url", "--token", "--viewer-token", "--board", "--shots"):
        p.add_argument(a, required=True)
    p.add_argument("--devices", type=int, required=True)
    p.add_argument("--key-hash", required=True)  # SHA-256 of the key the images are signed with
    ARGS = p.parse_args()

    # Without a token: the API, the metrics and the pages refuse.
    for path in ("/api/v1/devices", "/metrics", "/ui/", "/ui/app.js", "/ui/session.json"):
        status, _ = api("GET", path, None)
        assert status == 401, (path, status)
    status, _ = api("POST", "/api/v1/campaigns/1/pause", ARGS.viewer_token, {})
    assert status == 403, status  # the viewer only reads
    print("refused without a token: ok")

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    alerts = []
    try:
        # Not logged in: the login page, no fleet data.
        driver.get(ARGS.url + "/ui/")
        assert driver.find_elements(By.ID, "login"), driver.page_source[:500]
        assert "sim-0000" not in driver.page_source
        # Logged in by the address the demo prints (token in the fragment).
        driver.get(ARGS.url + "/ui/login#token=" + ARGS.token)
        wait("the session", lambda: "operator" in driver.find_element(By.ID, "session").text, 10)
        driver.execute_script("window.addEventListener('error', e => "
                              "document.title = 'script error: ' + e.message)")

        # Fleet: every simulated device with its version; the hostile id as text.
        driver.get(ARGS.url + "/ui/#/fleet")
        def fleet_rows():
            snapshot = driver.execute_script(DEVICE_ROWS)
            return snapshot if len(snapshot["rows"]) >= ARGS.devices + 1 else None
        snapshot = wait("the device rows", fleet_rows, 10)
        rows = [r for r in snapshot["rows"] if r[0].startswith("sim-")]
        assert len(rows) == ARGS.devices, len(rows)
        for device, version, _ in rows:
            assert version == "1.0.0", (device, version)
        assert snapshot["online"] == str(ARGS.devices + 1), snapshot["online"]
        hostile = [r for r in snapshot["rows"] if r[0].startswith("<script>")]
        assert len(hostile) == 1, "the <script> device is not listed"
        assert hostile[0][2] == "<script>x0000", hostile
        assert snapshot["scripts"] == 0, "a <script> element in the devices table"
        print("fleet page lists %d devices at 1.0.0, the <script> id as text: ok" % ARGS.devices)
        drawn = check_chart(driver, "1.0.0", 5)
        assert drawn == {"1.0.0": ARGS.devices + 1}, drawn
        print("version chart: one series per version %s: ok" % drawn)
        shot(driver, "fleet")

        # Campaigns: one made through the API appears and its bars move.
        good = create("1.1.0", "1,100%")
        driver.get(ARGS.url + "/ui/#/campaigns")
        wait("campaign %d" % good, lambda: driver.find_elements(By.ID, "campaign-%d" % good), 3)
        first = bar_counts(driver, good)
        wait("the bars to move", lambda: bar_counts(driver, good) != first and
             bar_counts(driver, good).get("confirmed", 0) >= 1, 30)
        print("campaign bars moved: %s -> %s" % (first, bar_counts(driver, good)))
        # Pause, clicked: the registry says paused.
        click(driver, "#campaign-%d .cmd-pause" % good)
        wait("paused in the registry",
             lambda: api_json("/api/v1/campaigns/%d" % good)["status"] == "paused", 5)
        wait("paused on the page", lambda: driver.find_element(
            By.ID, "campaign-%d" % good).get_attribute("data-status") == "paused", 3)
        print("Pause clicked: paused in the registry: ok")
        shot(driver, "campaigns-paused")
        # Resume, clicked (no confirmation: not destructive for a paused one).
        click(driver, "#campaign-%d .cmd-resume" % good)
        wait("the good campaign to complete",
             lambda: api_json("/api/v1/campaigns/%d" % good)["status"] == "completed", 60)

        # The chart follows the rollout: every device now runs 1.1.0.
        driver.get(ARGS.url + "/ui/#/fleet")
        drawn = check_chart(driver, "1.1.0", 15)
        assert drawn.get("1.1.0", 0) >= ARGS.devices, drawn
        print("version chart after the rollout: %s: ok" % drawn)
        shot(driver, "fleet-after-rollout")
        driver.get(ARGS.url + "/ui/#/campaigns")

        # A bad release halts on its canary; the page shows why, without a reload.
        marker = driver.execute_script("window.notReloaded = 1; return window.notReloaded")
        bad = create("1.2.0", "1,100%")
        reason = wait("the halt reason on the page", lambda: [
            e.text for e in driver.find_elements(By.CSS_SELECTOR, "#campaign-%d .reason" % bad)
            if e.text], 40)[0]
        assert driver.execute_script("return window.notReloaded") == marker, "the page reloaded"
        assert reason == api_json("/api/v1/campaigns/%d" % bad)["status_reason"], reason
        print("halt shown without a reload: %s" % reason)
        shot(driver, "campaigns-halted")

        # The canary's page: the revert with the bootloader's reason.
        canary = [d["id"] for d in api_json("/api/v1/devices")["devices"]
                  if d["state"] == "reverted"]
        assert len(canary) == 1, canary
        driver.get(ARGS.url + "/ui/#/device/" + canary[0])
        row = wait("the reverted event", lambda: driver.find_elements(
            By.CSS_SELECTOR, "#timeline tr[data-event=reverted]"), 5)[0]
        assert "the bootloader reverted it" in row.find_element(By.CLASS_NAME, "reason").text
        assert "1.2.0" in driver.find_element(By.ID, "barred").text
        print("device page shows the revert: %s" % row.text)
        shot(driver, "device")

        # The hostile device's page: its id is text, nothing ran.
        driver.get(ARGS.url + "/ui/#/device/" + urllib.request.quote("<script>x0000", safe=""))
        wait("the hostile device's page", lambda: driver.find_element(
            By.ID, "device-id").text == "<script>x0000", 5)
        assert not driver.title.startswith("script error"), driver.title
        shot(driver, "device-script-id")

        driver.get(ARGS.url + "/ui/#/images")
        wait("the images", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#images tbody tr")) >= 2, 5)
        listed = api_json("/api/v1/images")["images"]
        shown = dict(driver.execute_script(
            "return Array.from(document.querySelectorAll('#images tbody tr'))"
            ".map(r => [r.querySelector('.version').textContent,"
            " r.querySelector('.key-hash').textContent]);"))
        assert len(shown) == len(listed) >= 2, (shown, listed)
        for image in listed:
            assert image["key_hash"] == ARGS.key_hash, image
            assert shown[image["version"]] == ARGS.key_hash, shown
        print("images page shows each image's signing key hash %s: ok" % ARGS.key_hash)
        shot(driver, "images")
        # Script errors (network ones are the 401s asked for above, and
        # the favicon there is none of).
        logs = [e for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and e.get("source") != "network"]
        assert not logs, logs
    finally:
        driver.quit()
    print("dashboard: every check held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
