#!/usr/bin/env python3
"""Reads criterion's estimates and prints each benchmark beside its baseline, as a ratio."""
import json
import sys
from pathlib import Path

root = Path(sys.argv[1])


def mean_s(group: str, bench: str) -> float:
    est = json.loads((root / group / bench / "new" / "estimates.json").read_text())
    return est["mean"]["point_estimate"] / 1e9


def row(what, ours, base, goal):
    print(f"| {what} | {ours} | {base} | {goal} |")


print("| measure | Consilium | baseline | ratio (goal) |")
print("|---|---|---|---|")
for op in ["insert_10k", "list_10k", "list_tag_10k", "search_10k"]:
    c, s = mean_s("store_sqlcipher", op), mean_s("store_sqlite", op)
    row(f"store {op}", f"{c*1e3:.1f} ms (SQLCipher)", f"{s*1e3:.1f} ms (plain SQLite)", f"{c/s:.2f}× (≤ 1.3×)")
c, s = mean_s("store_disk_sqlcipher", "insert_1k"), mean_s("store_disk_sqlite", "insert_1k")
row("store insert_1k on disk, fsync per case", f"{c*1e3:.0f} ms (SQLCipher)", f"{s*1e3:.0f} ms (plain SQLite)", f"{c/s:.2f}× (≤ 1.3×)")
size = 32 * 1024 * 1024
for op in ["seal", "open"]:
    r = mean_s("blob", f"raw_ring_{op}")
    for variant, label in [("", "whole buffer, in place (the vault's path)"), ("_streaming", "streaming, bounded memory")]:
        c = mean_s("blob", f"blob_{op}{variant}")
        row(f"blob {op} 32 MiB, {label}", f"{size/c/1e9:.2f} GB/s", f"{size/r/1e9:.2f} GB/s (raw ring AES-256-GCM)", f"{r/c:.2f}× of raw (≥ 0.8×)")
c, v = mean_s("import_12mp", "consilium_attach"), mean_s("import_12mp", "vipsthumbnail")
row("import 12 MP JPEG", f"{c:.3f} s", f"{v:.3f} s (vipsthumbnail, one thumbnail)", f"{c/v:.1f}× (< 1 s absolute)")
for group, label in [
    ("group_add_to_50", "add a member to a circle of 50"),
    ("group_process_commit_50", "process a commit in a circle of 50"),
    ("group_message_2k_50", "encrypt and decrypt a 2 KiB message, circle of 50"),
]:
    c, r = mean_s(group, "consilium_vault"), mean_s(group, "raw_openmls_memory")
    row(label, f"{c*1e3:.2f} ms (state in the vault, committed)", f"{r*1e3:.2f} ms (openmls in memory)", f"{c/r:.2f}× (≤ 1.5×)")
nf = mean_s("group_message_2k_50", "consilium_vault_without_fsync")
row("the 2 KiB message again, diagnostic: vault without fsync", f"{nf*1e3:.2f} ms", "—", "—")
load = mean_s("group_load_50", "consilium_vault")
row("load a circle of 50 from the vault", f"{load*1e3:.2f} ms (once per circle per sync pass)", "—", "—")
u = mean_s("vault", "unlock_interactive_kdf")
row("unlock (Argon2id, interactive)", f"{u:.3f} s", "—", "≈ 0.5 s")
mem = root / "peak-memory.txt"
if mem.exists():
    print()
    for line in mem.read_text().strip().splitlines():
        print(f"- {line}")
relay = root / "relay-load.txt"
if relay.exists():
    # The relay load harness prints `RESULT name value` lines; the ratios are computed here.
    r = {}
    for line in relay.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            r[parts[1]] = float(parts[2])
    print()
    posts, one = r["relay_posts_per_s"], r["sqlite_one_per_commit_per_s"]
    batched = next(v for k, v in r.items() if k.startswith("sqlite_batched_"))
    print(f"- relay: {posts:.0f} posts/s; {posts/one:.2f}× of SQLite one commit per row ({one:.0f}/s), "
          f"{posts/batched:.2f}× of SQLite batched ({batched:.0f}/s) (goal ≥ 5 000/s)")
    print(f"- push latency saturated p50 {r['saturated_push_latency_p50_ms']:.1f} ms, p99 "
          f"{r['saturated_push_latency_p99_ms']:.1f} ms; paced at {r['paced_posts_per_s']:.0f}/s p50 "
          f"{r['paced_push_latency_p50_ms']:.1f} ms, p99 {r['paced_push_latency_p99_ms']:.1f} ms (goal p99 ≤ 20 ms)")
    print(f"- {r['kib_per_idle_socket']:.1f} KiB per idle push socket at {r['idle_sockets']:.0f} (goal ≤ 64 KiB); "
          f"relay CPU {r['relay_cpu_us_per_post']:.0f} µs per post")
share = root / "circle-share.txt"
if share.exists():
    r = {}
    for line in share.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            r[parts[1]] = float(parts[2])
    print()
    total, base = r["share_last_member_stored_s"], r["share_transfer_baseline_s"]
    print(f"- share {r['share_images']:.0f} photos ({r['share_image_bytes']/1e6:.1f} MB full size) to a circle of "
          f"{r['share_members']:.0f}: last member stored it after {total:.3f} s (goal < 3 s); {total/base:.2f}× "
          f"the bare transfer of the same bytes ({base:.3f} s)")
    print(f"- where the time goes: encrypt {r['share_encrypt_s']:.3f} s, upload and post "
          f"{r['share_send_s']:.3f} s, members fetch, check, decrypt and store {r['share_receive_mean_s']:.3f} s "
          f"on average, {r['share_receive_last_s']:.3f} s the last")
backup = root / "backup.txt"
if backup.exists():
    r = {}
    for line in backup.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            r[parts[1]] = float(parts[2])
    print()
    print(f"- backup of {r['backup_cases']:.0f} cases and {r['backup_photos']:.0f} photos "
          f"({r['backup_vault_bytes']/1e6:.0f} MB vault, {r['backup_folder_bytes']/1e6:.0f} MB backup): "
          f"{r['backup_full_s']:.3f} s, {r['backup_full_s']/r['backup_tar_s']:.2f}× tar + sync ({r['backup_tar_s']:.3f} s)")
    print(f"- next backup after ten new cases: {r['backup_incremental_10_s']:.3f} s, "
          f"{r['backup_incremental_10_s']/r['backup_full_s']:.3f}× the full backup")
    print(f"- restore (checked whole, then written): {r['backup_restore_s']:.3f} s, "
          f"{r['backup_restore_s']/r['backup_untar_s']:.2f}× untar + sync ({r['backup_untar_s']:.3f} s)")
desktop = root / "desktop.txt"
if desktop.exists():
    # `RESULT name median (median of N: [runs])` lines from the window harness.
    r = {}
    for line in desktop.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "RESULT":
            r[parts[1]] = float(parts[2])
    print()
    print(f"- desktop cold start to an unlocked case list, 5 000 cases: {r['cold_total_5000_ms']/1e3:.2f} s "
          f"(window {r['cold_window_5000_ms']/1e3:.2f} s + unlock to list {r['unlock_to_list_5000_ms']/1e3:.2f} s; "
          f"goal < 1.5 s); {r['ratio_cold_total_5000_vs_empty']:.2f}× the empty profile "
          f"({r['cold_total_empty_ms']/1e3:.2f} s); passphrase derivation apart: {r['kdf_interactive_ms']/1e3:.2f} s")
    print(f"- open a case with eight images until every thumbnail is decoded: {r['open_case_eight_images_ms']:.0f} ms, "
          f"{r['ratio_open_eight_vs_none']:.2f}× a case with none ({r['open_case_no_images_ms']:.0f} ms)")
    print(f"- scroll the 5 000-row list: {r['scroll_step_ms']:.1f} ms per 25-row step, at most "
          f"{r['rows_in_dom']:.0f} rows in the page; {r.get('ratio_scroll_step_vs_idle_frame', float('nan')):.2f}× "
          f"the display's idle frame ({r.get('idle_frame_ms', float('nan')):.1f} ms); "
          f"{r['scroll_frames_stalled']:.0f} of 200 frames did not come within 50 ms")
    print(f"- idle memory with 5 000 cases (goal < 250 MiB resident): app process {r['idle_rss_app_only_5000_mib']:.0f} MiB RSS; "
          f"app and WebKit processes {r['idle_pss_5000_mib']:.0f} MiB PSS ({r['idle_rss_5000_mib']:.0f} MiB RSS summed, "
          f"shared libraries counted per process); {r['ratio_idle_pss_5000_vs_empty']:.2f}× the empty profile "
          f"({r['idle_pss_empty_mib']:.0f} MiB PSS)")
