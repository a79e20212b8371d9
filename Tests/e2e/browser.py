"""Headless Chromium for the dashboard tests, driven by Selenium with Debian's chromedriver.

Never downloads anything: the driver is `/usr/bin/chromedriver` (package `chromium-driver`) given
to `Service(executable_path=...)`, the browser `/usr/bin/chromium` (package `chromium`), and
`SE_OFFLINE=true` keeps Selenium Manager from looking for either on the network.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

CHROMEDRIVER = os.environ.get("PLUGIND_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("PLUGIND_CHROMIUM", "/usr/bin/chromium")
WINDOW = (1280, 900)
NARROW = (390, 844)

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never fetch a driver or a browser


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r Tests/e2e/requirements.txt)"
    for path, package in ((CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            return f"{path} is missing (apt-get install {package})"
    return None


def start_browser(width: int = WINDOW[0], height: int = WINDOW[1], log_dir: Path | None = None):
    """A new headless Chromium session. The stack's certificate is self-signed, so certificate
    errors are accepted (the page is still a secure context: 127.0.0.1 over HTTPS)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the suite runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
        "--password-store=basic",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    options.accept_insecure_certs = True
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service_args = []
    log_path = None
    if log_dir is not None:
        log_path = str(log_dir / "chromedriver.log")
    service = Service(executable_path=CHROMEDRIVER, service_args=service_args, log_output=log_path)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    # Exactly the viewport asked for (headless "window size" includes no browser chrome anyway).
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def set_color_scheme(driver, scheme: str | None) -> None:
    """Emulates prefers-color-scheme: "light", "dark", or None for the default."""
    features = [{"name": "prefers-color-scheme", "value": scheme}] if scheme else []
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": features})


def wait_for(driver, predicate: Callable[[], object], timeout: float = 15.0, what: str = "a condition"):
    """Polls `predicate` (exceptions count as "not yet") until it returns something truthy."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (WebDriverException, AssertionError, LookupError) as error:
            last_error = error
        time.sleep(0.05)
    detail = f" (last error: {last_error})" if last_error else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}; page: {driver.current_url}")


def screenshot(driver, path: Path, full_page: bool = True) -> Path:
    """A PNG of the page. With `full_page`, the viewport is made as tall as the page (at most 3000
    px) for the picture, so sticky bars sit where a reader would see them, then restored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not full_page:
        driver.save_screenshot(str(path))
        return path
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    content = driver.execute_script("return document.documentElement.scrollHeight")
    tall = max(height, min(int(content), 3000))
    set_viewport(driver, width, tall)
    try:
        time.sleep(0.2)  # one layout and paint at the new size
        driver.save_screenshot(str(path))
    finally:
        set_viewport(driver, width, height)
    return path


def browser_log(driver) -> list[dict]:
    """The console and network entries Chromium logged since the last call."""
    return driver.get_log("browser")


def page_debug(driver) -> dict:
    """What the page's debug hook (js/debug.js) collected: CSP violations and uncaught errors."""
    return driver.execute_script("return window.plugindDebug || {cspViolations: [], errors: [], missing: true}")


def describe(entries: list[dict]) -> str:
    return json.dumps(entries, indent=1)[:4000]


def axe_source() -> str:
    """axe-core, as PyPI's axe-selenium-python ships it (`axe.min.js`): nothing is fetched at run time."""
    import axe_selenium_python

    path = Path(axe_selenium_python.__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
    return path.read_text(encoding="utf-8")


def axe_violations(driver) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA, and axe's best practices),
    each as {id, impact, help, nodes: [the first few offending elements' HTML]}."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())  # a WebDriver script: the page's CSP does not apply
    result = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           axe.run(document, {resultTypes: ['violations']})
             .then((r) => done({violations: r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.slice(0, 5).map((n) => n.html.slice(0, 200))}))}))
             .catch((e) => done({error: String(e)}));""")
    if "error" in result:
        raise AssertionError(f"axe-core could not run: {result['error']}")
    return result["violations"]
