// The UI's words in Chinese (default) and English. Elements with data-i18n="key" get the text of key,
// data-i18n-title / data-i18n-placeholder the attribute. The choice is kept in localStorage ("vms-lang").
export const DICT = {
  zh: {
    app_title: "查验场视频监控", lang_switch: "English", signin_title: "登录", username: "用户名", password: "密码",
    signin: "登录", signing_in: "正在登录…", logout: "退出", login_failed: "登录失败", nav_wall: "实时监控墙",
    nav_desk: "桌面查看", nav_status: "系统状态", nav_home: "首页", nav_api: "接口文档",
    forbidden: "您的角色（{role}）无权查看此页面。", forbidden_hint: "如需访问，请联系系统管理员。",
    loading: "加载中…", yard_time: "场站时间", role_admin: "系统管理员", role_operator: "指挥中心值班员",
    role_manager: "管理人员", role_reviewer: "复核员", role_inspector: "查验员", role_auditor: "审计员",
    role_integration: "系统集成",
    // wall
    cameras: "摄像机", search_camera: "搜索摄像机", layout: "布局", layout_default: "默认布局", new_layout: "新建布局",
    new_layout_prompt: "新布局名称", delete_layout: "删除布局", confirm_delete_layout: "删除布局“{name}”？",
    grid: "画面数", saved: "已保存", saving: "保存中…", save_failed: "保存失败",
    wall_hint: "点选一个画面格，再点击左侧摄像机放入；也可拖放。", empty_tile: "空闲画面 — 选择摄像机",
    clear_tile: "移除", fullscreen: "全屏", exit_fullscreen: "退出全屏", in_tiles: "在画面中",
    // tile states
    st_live: "直播", st_connecting: "连接中…", st_reconnecting: "重连中…", st_offline: "离线",
    st_unsupported: "无法在浏览器播放", st_forbidden: "无权观看", st_unknown_camera: "摄像机已删除",
    st_disabled: "已停用", retry_in: "{s} 秒后重试", batch_now: "正在查验", no_batch: "当前无查验",
    unsupported_codec: "编码不受支持（如 H.265）", no_stream: "暂无视频流",
    reason_unreachable: "无法连接摄像机", reason_host_not_found: "找不到摄像机地址", reason_timeout: "摄像机无响应",
    reason_unauthorized: "摄像机拒绝登录", reason_not_found: "摄像机上没有该码流", reason_no_video_track: "没有视频",
    reason_unsupported_codec: "编码不受支持", reason_stream_ended: "摄像机断开了视频流",
    reason_invalid_url: "摄像机地址无效", reason_protocol_error: "协议错误", reason_stalled: "画面中断",
    reason_no_frames: "收不到画面", reason_ice: "网络连接中断", reason_network: "网络错误",
    // desk
    sites_bays: "场地与查验位", no_bay: "未分配查验位", select_cameras: "在左侧选择一个或多个摄像机观看。",
    clear_selection: "清空", n_cameras: "{n} 路画面", batch: "批次", goods: "货物", containers: "集装箱",
    planned: "计划", until: "至",
    // status
    state: "状态", fps: "帧率", bitrate: "码率", recorded: "已录制", last_segment: "最新片段", clip: "片段下载",
    last_minute: "最近1分钟", alerts: "告警", none: "无", tz: "时区", updated: "更新于", segments: "段",
    online: "在线", offline: "离线", connecting: "连接中", error: "错误", stopped: "已停止",
    home_welcome: "您好，{name}。", home_pages: "您可以打开：", home_none: "您的角色在网页界面中没有可打开的页面。",
  },
  en: {
    app_title: "Inspection yard VMS", lang_switch: "中文", signin_title: "Sign in", username: "User name",
    password: "Password", signin: "Sign in", signing_in: "Signing in…", logout: "Sign out",
    login_failed: "Sign-in failed", nav_wall: "Live wall", nav_desk: "Desk viewer", nav_status: "System status",
    nav_home: "Home", nav_api: "API docs",
    forbidden: "Your role ({role}) may not see this page.", forbidden_hint: "Ask an administrator if you need it.",
    loading: "Loading…", yard_time: "Yard time", role_admin: "Administrator", role_operator: "Command-centre operator",
    role_manager: "Manager", role_reviewer: "Reviewer", role_inspector: "Inspector", role_auditor: "Auditor",
    role_integration: "Integration",
    cameras: "Cameras", search_camera: "Search cameras", layout: "Layout", layout_default: "Default layout",
    new_layout: "New layout", new_layout_prompt: "Name of the new layout", delete_layout: "Delete layout",
    confirm_delete_layout: "Delete the layout “{name}”?", grid: "Tiles", saved: "Saved", saving: "Saving…",
    save_failed: "Save failed",
    wall_hint: "Pick a tile, then click a camera on the left to put it there (or drag it).",
    empty_tile: "Empty tile — pick a camera", clear_tile: "Remove", fullscreen: "Full screen",
    exit_fullscreen: "Exit full screen", in_tiles: "on the wall",
    st_live: "Live", st_connecting: "Connecting…", st_reconnecting: "Reconnecting…", st_offline: "Offline",
    st_unsupported: "Cannot play in the browser", st_forbidden: "Not allowed", st_unknown_camera: "Camera deleted",
    st_disabled: "Disabled", retry_in: "retry in {s} s", batch_now: "Inspecting", no_batch: "No inspection now",
    unsupported_codec: "Codec not supported (e.g. H.265)", no_stream: "No video stream yet",
    reason_unreachable: "camera unreachable", reason_host_not_found: "camera address not found",
    reason_timeout: "camera not answering", reason_unauthorized: "camera refused the login",
    reason_not_found: "no such stream on the camera", reason_no_video_track: "no video",
    reason_unsupported_codec: "codec not supported", reason_stream_ended: "camera closed the stream",
    reason_invalid_url: "invalid camera address", reason_protocol_error: "protocol error",
    reason_stalled: "video stalled", reason_no_frames: "no video received", reason_ice: "connection lost",
    reason_network: "network error",
    sites_bays: "Sites and bays", no_bay: "No bay", select_cameras: "Pick one or several cameras on the left.",
    clear_selection: "Clear", n_cameras: "{n} cameras", batch: "Batch", goods: "Goods", containers: "Containers",
    planned: "Planned", until: "until",
    state: "Status", fps: "fps", bitrate: "Bitrate", recorded: "Recorded", last_segment: "Latest segment",
    clip: "Clip", last_minute: "last minute", alerts: "Alerts", none: "none", tz: "Time zone", updated: "updated",
    segments: "segments", online: "online", offline: "offline", connecting: "connecting", error: "error",
    stopped: "stopped",
    home_welcome: "Hello, {name}.", home_pages: "You may open:", home_none: "Your role has no pages in the web UI.",
  },
};

const listeners = [];
let current = localStorage.getItem("vms-lang");

export function lang() { return current || "zh"; }

/** Sets the language for this page load when the user has not chosen one (the yard's default). */
export function setDefaultLanguage(code) { if (!current && DICT[code]) current = code; }

export function setLanguage(code) {
  if (!DICT[code]) return;
  current = code;
  localStorage.setItem("vms-lang", code);
  applyI18n(document);
  for (const fn of listeners) fn(code);
}

export function onLanguageChange(fn) { listeners.push(fn); }

/** The text of ``key`` in the current language, with {name} placeholders filled from ``vars``. */
export function t(key, vars) {
  const text = DICT[lang()][key] ?? DICT.zh[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

export function applyI18n(root) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

// Batch search, batch review, replay, timeline and body-cam upload (batches.*, review.*, upload.*,
// timeline.js, replay.js, the desk viewer's replay).
Object.assign(DICT.zh, {
  nav_batches: "批次查询", nav_upload: "执法记录仪上传",
  tl_fit: "全部", tl_day: "天", tl_hour: "小时", inspection_window: "查验时段", gap: "无录像",
  gap_not_recorded: "未录制", gap_camera_offline: "摄像机离线", gap_stream_changed: "码流变化",
  gap_recorder_stopped: "录像服务停止", gap_storage_error: "存储故障",
  lane_playing: "播放中", lane_gap: "无录像", lane_ended: "已结束", lane_loading: "加载中", lane_unsupported: "无法播放",
  lane_error: "错误", rp_connecting: "正在连接回放…", rp_lost: "回放连接已断开，点击时间轴重新开始",
  rp_failed: "回放失败", rp_hint: "点击或拖动时间轴，从该时刻开始回放。", rp_next: "下一段",
  rp_play: "播放", rp_pause: "暂停", rp_step_back: "后退一帧", rp_step_forward: "前进一帧", replay: "回放", live: "实时", close: "关闭",
  // batch search
  search_batches: "批次查询", number: "批次号", declaration: "报关单号", container: "集装箱号", site: "场地",
  bay: "查验位", inspector: "查验员", status: "状态", date_from: "起始日期", date_to: "截止日期", search: "查询",
  reset: "重置", any: "全部", bs_planned: "计划中", bs_in_progress: "查验中", bs_completed: "已完成",
  bs_cancelled: "已取消", disputed: "争议", n_results: "共 {n} 条", no_results: "没有符合条件的批次。",
  window: "查验时间", open_review: "查看", upload_for: "上传", more: "更多…",
  // batch review
  batch_data: "批次信息", declaration_no: "报关单号", actual: "实际", inspectors: "查验员", notes: "备注",
  site_bay: "场地 / 查验位", disputed_yes: "争议中 · 证据已保全", not_disputed: "无争议",
  hold: "标记争议并保全", release: "解除保全", hold_reason: "原因", hold_reason_required: "请填写原因。",
  hold_done: "已标记争议，证据已保全。", release_done: "已解除保全。", covering_cameras: "覆盖摄像机",
  bodycam_items: "执法记录仪文件", custody_log: "证据保管记录", export_package: "证据包导出",
  export_start: "导出证据包", export_running: "正在生成… {p}%（已写入 {bytes}）", export_ready: "证据包已生成",
  export_failed: "证据包生成失败", verified_ok: "已签名，校验通过", verified_bad: "校验未通过",
  verified_unknown: "服务器未报告校验结果", download_package: "下载证据包", fingerprint: "签名密钥指纹",
  time: "时间", actor: "操作人", action: "操作", item: "文件", detail: "详情", audit_chain_ok: "审计链完整",
  audit_chain_bad: "审计链校验失败！", file: "文件名", kind: "类型", recorded_time: "录制时间", duration: "时长",
  device: "设备", uploaded_by: "上传人", uploaded_at: "上传时间", legal_hold: "保全", custody: "保管记录",
  download: "下载", no_items: "暂无执法记录仪文件。", no_cameras: "此查验位没有摄像机。",
  footage_window: "录像范围", recorded_seconds: "录像时长", gaps_count: "中断", kind_video: "视频",
  kind_photo: "照片", yes: "是", no: "否", batch_not_found: "找不到该批次，或您无权查看。",
  act_upload: "上传", act_upload_duplicate: "重复上传", act_view: "查看", act_download: "下载", act_preview: "预览",
  act_relink: "改挂批次", act_hold: "保全", act_release: "解除保全", act_retime: "校正时间",
  act_retention_extend: "延长保存", act_export: "导出", act_delete: "删除", act_replay: "回放",
  // upload
  upload_title: "上传执法记录仪文件", choose_batch: "选择批次", drop_files: "把视频或照片拖到这里，或",
  choose_files: "选择文件", upload_queue: "上传队列", hashing: "计算校验值 {p}%", uploading: "上传中 {p}%",
  resuming: "连接中断，{s} 秒后续传…", checking: "服务器检查文件…", uploaded_ok: "上传成功",
  duplicate: "已存在（同一文件）", refused: "被拒绝", failed: "失败", resumed_n: "已续传 {n} 次",
  resolution: "分辨率", codec: "编码", time_source: "时间来源", ts_container: "文件内时间", ts_exif: "照片 EXIF",
  ts_filename: "文件名", ts_upload: "上传时间", existing_items: "本批次已有文件", no_batches: "您没有可上传的批次。",
  retry: "重试", remove: "移除", pick_batch_first: "请先选择批次。",
});
Object.assign(DICT.en, {
  nav_batches: "Batches", nav_upload: "Body-cam upload",
  tl_fit: "All", tl_day: "Day", tl_hour: "Hour", inspection_window: "Inspection window", gap: "No footage",
  gap_not_recorded: "not recorded", gap_camera_offline: "camera offline", gap_stream_changed: "stream changed",
  gap_recorder_stopped: "recorder stopped", gap_storage_error: "storage failure",
  lane_playing: "playing", lane_gap: "no footage", lane_ended: "ended", lane_loading: "loading",
  lane_unsupported: "cannot play", lane_error: "error", rp_connecting: "Connecting the replay…",
  rp_lost: "Replay connection lost; click the timeline to start again", rp_failed: "Replay failed",
  rp_hint: "Click or drag on the timeline to replay from that moment.", rp_next: "next at",
  rp_play: "Play", rp_pause: "Pause", rp_step_back: "Back one frame", rp_step_forward: "Forward one frame", replay: "Replay", live: "Live", close: "Close",
  search_batches: "Batch search", number: "Batch number", declaration: "Declaration no.", container: "Container",
  site: "Site", bay: "Bay", inspector: "Inspector", status: "Status", date_from: "From", date_to: "To",
  search: "Search", reset: "Reset", any: "any", bs_planned: "planned", bs_in_progress: "in progress",
  bs_completed: "completed", bs_cancelled: "cancelled", disputed: "Disputed", n_results: "{n} batches",
  no_results: "No batch matches.", window: "Inspection time", open_review: "Open", upload_for: "Upload",
  more: "More…",
  batch_data: "Batch", declaration_no: "Declaration no.", actual: "Actual", inspectors: "Inspectors", notes: "Notes",
  site_bay: "Site / bay", disputed_yes: "Disputed · evidence on hold", not_disputed: "Not disputed",
  hold: "Dispute and hold", release: "Release hold", hold_reason: "Reason", hold_reason_required: "Give a reason.",
  hold_done: "Disputed; the evidence is on hold.", release_done: "Hold released.", covering_cameras: "Cameras",
  bodycam_items: "Body-cam files", custody_log: "Chain of custody", export_package: "Evidence package",
  export_start: "Export evidence package", export_running: "Building… {p}% ({bytes} written)",
  export_ready: "Evidence package ready", export_failed: "The evidence package could not be built",
  verified_ok: "Signed and verified", verified_bad: "Verification FAILED", verified_unknown: "The server did not report a verification",
  download_package: "Download package", fingerprint: "Key fingerprint", time: "Time", actor: "By", action: "Action",
  item: "File", detail: "Detail", audit_chain_ok: "Audit chain intact", audit_chain_bad: "Audit chain BROKEN!",
  file: "File", kind: "Kind", recorded_time: "Recorded", duration: "Duration", device: "Device",
  uploaded_by: "Uploaded by", uploaded_at: "Uploaded", legal_hold: "Hold", custody: "Custody", download: "Download",
  no_items: "No body-cam files yet.", no_cameras: "This bay has no cameras.", footage_window: "Footage window",
  recorded_seconds: "Recorded", gaps_count: "Gaps", kind_video: "video", kind_photo: "photo", yes: "yes", no: "no",
  batch_not_found: "No such batch, or you may not see it.",
  act_upload: "uploaded", act_upload_duplicate: "uploaded again", act_view: "viewed", act_download: "downloaded",
  act_preview: "previewed", act_relink: "moved to another batch", act_hold: "put on hold", act_release: "hold released",
  act_retime: "re-timed", act_retention_extend: "retention extended", act_export: "exported", act_delete: "deleted",
  act_replay: "replayed",
  upload_title: "Upload body-cam files", choose_batch: "Batch", drop_files: "Drop videos or photos here, or",
  choose_files: "choose files", upload_queue: "Uploads", hashing: "Checksum {p}%", uploading: "Uploading {p}%",
  resuming: "Connection lost; resuming in {s} s…", checking: "The server is checking the file…",
  uploaded_ok: "Uploaded", duplicate: "Already there (same file)", refused: "Refused", failed: "Failed",
  resumed_n: "resumed {n}×", resolution: "Resolution", codec: "Codec", time_source: "Time from",
  ts_container: "file metadata", ts_exif: "photo EXIF", ts_filename: "file name", ts_upload: "upload time",
  existing_items: "Files of this batch", no_batches: "You have no batch to upload to.", retry: "Retry",
  remove: "Remove", pick_batch_first: "Choose the batch first.",
});
