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
