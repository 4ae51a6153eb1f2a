"""Practitioner pages in a real Chromium: sign in and out, accessibility, screenshots."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from app.demo import logins
from tests.browser import LiveServer, check_accessibility, login, logout, screenshot, watch_console

SCREENER = "screener@riverbend.example.org"


def test_the_demo_screener_is_a_demo_login() -> None:
    assert (SCREENER, "screener") in {(email, role) for _, role, email in logins()}


def test_sign_in_page_is_accessible_on_desktop_and_phone(page: Page, phone: Page, live_server: LiveServer) -> None:
    for label, tab, width in (("desktop", page, 1280), ("phone", phone, 360)):
        errors = watch_console(tab)
        tab.goto("/login")
        expect(tab.get_by_role("heading", level=1)).to_have_text("Sign in")
        expect(tab.get_by_label("Email")).to_be_visible()
        check_accessibility(tab, f"the sign-in page ({label})")
        shot = screenshot(tab, f"login-{label}")
        assert shot.stat().st_size > 5_000, f"{shot} looks empty"
        assert tab.evaluate("window.innerWidth") == width
        assert tab.evaluate("document.documentElement.scrollWidth") <= width, f"scrolls sideways ({label})"
        assert errors == [], errors


def test_screener_signs_in_sees_their_pages_and_signs_out(page: Page, live_server: LiveServer) -> None:
    errors = watch_console(page)
    login(page, live_server, SCREENER)
    assert urlparse(page.url).path == "/"
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_accessibility(page, "the page after sign-in")
    screenshot(page, "dashboard-screener")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Youth").click()
    page.wait_for_url("**/youth")
    expect(page.get_by_text("RB-1001").first).to_be_visible()
    check_accessibility(page, "the youth list")
    screenshot(page, "youth-list-screener")

    logout(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto("/youth")
    assert urlparse(page.url).path == "/login", "after sign-out, /youth asks to sign in again"
    assert errors == [], errors


def test_wrong_password_stays_on_the_sign_in_page(page: Page, live_server: LiveServer) -> None:
    try:
        login(page, live_server, SCREENER, password="not-the-password")  # noqa: S106
    except AssertionError as exc:
        assert "That email and password do not match" in str(exc)
    else:
        raise AssertionError("a wrong password signed in")


def test_sign_in_works_without_javascript(no_js_page: Page, live_server: LiveServer) -> None:
    login(no_js_page, live_server, "supervisor@riverbend.example.org")
    expect(no_js_page.get_by_role("button", name="Sign out")).to_be_visible()
    check_accessibility(no_js_page, "the page after sign-in, without JavaScript")


def test_the_header_switches_the_language_without_javascript(no_js_page: Page, live_server: LiveServer) -> None:
    page = no_js_page
    login(page, live_server, "screener@harbor.example.org")  # a login no other browser test uses
    page.goto(live_server.at("/youth"))
    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    assert urlparse(page.url).path == "/youth", "the switch returns to the page it was pressed on"
    assert page.evaluate("document.documentElement.lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_have_text("Jóvenes")
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    check_accessibility(page, "the youth list in Spanish, without JavaScript")

    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Youth")
    assert page.evaluate("document.documentElement.lang") == "en"
