// The dashboard page: one WebSocket to /ws that sends the whole state on connect and after every
// change; each message re-renders every panel. Everything is built with DOM calls (textContent, never
// innerHTML), so text from the state cannot inject markup.
"use strict";

(function () {
  const $ = (selector) => document.querySelector(selector);
  let seenEvents = null;  // event ids already shown, to mark new ones
  let seenTasks = null;  // task id -> column, to mark moved ones

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // -- formatting ---------------------------------------------------------------------------------

  function num(value, digits = 1) {
    if (value === null || value === undefined) return "—";
    return window.OrchestraCharts.decimals(Number(value), digits);  // as Python rounds: the reports agree
  }

  // story points to 2 decimals, as `orchestra sprint status`, the report and `orchestra metrics` give them
  function points(value) {
    return num(value, 2);
  }

  function pct(rate) {
    return rate === null || rate === undefined ? "—" : `${num(rate * 100)}%`;
  }

  function duration(hours) {
    if (hours === null || hours === undefined) return "—";
    const seconds = hours * 3600;
    if (seconds < 60) return `${num(seconds, 0)} s`;
    if (seconds < 3600) return `${num(seconds / 60, 0)} min`;
    if (hours < 48) return `${num(hours)} h`;
    return `${num(hours / 24)} d`;
  }

  function clock(ts) {
    return ts ? ts.slice(11, 19) : "";
  }

  function words(text) {
    return String(text || "").replace(/_/g, " ");
  }

  // -- panels -------------------------------------------------------------------------------------

  function renderHeader(state) {
    const sprint = state.sprint;
    $("#project").textContent = state.project || "";
    // no sprint under a problem: the banner says which sprint cannot be shown, and why
    $("#sprint-title").textContent = sprint ? `${sprint.sprint}${sprint.name ? " · " + sprint.name : ""}`
      : state.problem ? "No sprint shown" : "No sprint in state";
    $("#sprint-goal").textContent = sprint ? (sprint.goal || "")
      : state.problem ? "" : "Load one: orchestra sprint load && orchestra sprint start ID";
    document.title = sprint ? `${sprint.sprint} · Orchestra` : "Orchestra dashboard";
    $("#footer").textContent = `Updated ${state.generated_at} · event #${state.last_event_id}`;
  }

  function renderSprint(state) {
    const sprint = state.sprint;
    const status = $("#sprint-status");
    status.textContent = sprint ? sprint.status : "";
    status.className = `badge ${sprint ? sprint.status : ""}`;
    $("#sprint-dates").textContent = sprint ? `${sprint.start} → ${sprint.end}${sprint.epic ? " · epic " + sprint.epic : ""}` : "";
    const sums = sprint ? sprint.points : {total: 0, completed: 0, remaining: 0};
    const share = sums.total ? sums.completed / sums.total : 0;
    $("#progress-bar").style.width = `${Math.round(share * 100)}%`;
    const closed = Boolean(sprint) && sprint.status === "complete";  // nothing left to forecast or to do
    const done = $("#points-done");
    done.replaceChildren(h("b", {}, `${points(sums.completed)} of ${points(sums.total)} points`),
                         closed ? ` done · ${points(sums.carried_over || 0)} carried over`
                                : ` done · ${points(sums.remaining)} left`);
    const forecast = sprint && sprint.forecast;
    $("#forecast").textContent = closed ? "sprint closed" : !forecast ? "" : forecast.available
      ? `forecast p50 ${forecast.p50_at.slice(0, 16).replace("T", " ")} · p85 ${forecast.p85_at.slice(0, 16).replace("T", " ")} UTC`
      : sprint.status === "blocked" ? "no forecast while the sprint is blocked" : "forecast: not enough history yet";
    window.OrchestraCharts.burndown($("#burndown"), state.burndown);
    const path = sprint ? sprint.critical_path : null;
    $("#critical-path").textContent = !path ? "—" : path.tasks.length
      ? `${points(path.length)} pts: ${path.tasks.join(" → ")}` : "nothing left";
    const counts = sprint ? Object.entries(sprint.counts).filter(([, n]) => n) : [];
    $("#task-counts").textContent = counts.length ? counts.map(([status, n]) => `${n} ${words(status)}`).join(" · ") : "—";
  }

  function tile(id, label, value, sub, mood) {
    return h("div", {class: `tile ${mood || ""}`, id: `metric-${id}`},
             h("div", {class: "value"}, value), h("div", {class: "label"}, label),
             sub ? h("div", {class: "sub"}, sub) : null);
  }

  function renderMetrics(state) {
    const m = state.metrics;
    const errors = m.error_rate, latency = m.hook_latency, util = m.agent_utilization;
    const done = m.completion_rate, cover = m.test_coverage, builds = m.build_success_rate;
    $("#metrics").replaceChildren(
      tile("agents-live", "agents live", `${m.agent_count.live}`, `${m.agent_count.total} runs in all`,
           m.agent_count.live ? "good" : ""),
      tile("utilization", "utilization", pct(util.rate), util.capacity ? `${util.live} of ${util.capacity} slots` : "no capacity set"),
      tile("throughput", "tasks / day", num(m.task_throughput.per_day, 2), `${m.task_throughput.completed} in ${m.task_throughput.days} days`),
      tile("task-time", "avg task time", duration(m.average_task_time.mean_hours), `${m.average_task_time.tasks} completed`),
      tile("error-rate", "error rate", pct(errors.rate), `${errors.denied} denied · ${errors.failed} failed · ${errors.tool_calls} call${errors.tool_calls === 1 ? "" : "s"}`,
           errors.rate > 0.2 ? "bad" : errors.rate > 0.05 ? "warn" : ""),
      tile("blockers", "blocked now, all tasks", `${m.blocker_count}`, `${m.blockers.raised} raised this sprint`, m.blocker_count ? "bad" : "good"),
      tile("completion", "completion", pct(done.tasks_rate), `${done.tasks_completed} of ${done.tasks_total} tasks`),
      tile("velocity", "velocity", m.velocity.mean_points === null ? "—" : `${points(m.velocity.mean_points)} pts`,
           `${m.velocity.sprints.length} sprints closed`),
      tile("coverage", "test coverage", cover ? `${num(cover.percent)}%` : "—", cover ? `reported on ${cover.task || "—"}` : "not reported"),
      tile("builds", "build success", builds ? pct(builds.rate) : "—", builds ? `${builds.passed} of ${builds.passed + builds.failed}` : "not reported"),
      tile("messages-open", "messages open", `${state.messages_open}`, "pending on the bus", state.messages_open ? "warn" : ""),
      tile("hook-latency", "hook p50 / p95", latency.p50_ms === null ? "—" : `${num(latency.p50_ms, 0)} / ${num(latency.p95_ms, 0)} ms`,
           `${latency.count} hook runs`, latency.p95_ms > 500 ? "warn" : ""),
    );
    $("#metrics-window").textContent = `last ${m.audit_lines} audit lines`;
  }

  function taskCard(task) {
    const meta = [
      h("code", {}, task.id),
      task.assignee ? h("span", {}, task.assignee) : null,
      task.estimate !== null && task.estimate !== undefined ? h("span", {}, `${points(task.estimate)} pts`) : null,
      task.priority && task.priority !== "normal" ? h("span", {class: `badge ${task.priority}`}, task.priority) : null,
      task.status !== "queued" && task.status !== "completed" && task.status !== "blocked"
        ? h("span", {class: `badge ${task.status}`}, words(task.status)) : null,
    ];
    return h("li", {class: "task", "data-id": task.id, "data-status": task.status},
             h("div", {class: "title clamp", title: task.title}, task.title || task.id),
             h("div", {class: "meta"}, meta),
             task.blocker ? h("div", {class: "blocker clamp", title: task.blocker}, task.blocker) : null);
  }

  function renderQueue(state) {
    const moved = {};
    let total = 0;
    for (const [column, tasks] of Object.entries(state.queue)) {
      const box = $(`#queue-${column}`);
      box.querySelector(".count").textContent = String(tasks.length);
      total += tasks.length;
      const cards = tasks.map((task) => {
        const card = taskCard(task);
        if (seenTasks && seenTasks[task.id] !== column) card.classList.add("fresh");
        moved[task.id] = column;
        return card;
      });
      box.querySelector("ul").replaceChildren(...(cards.length ? cards : [h("li", {class: "empty"}, "nothing here")]));
    }
    seenTasks = moved;
    $("#queue-total").textContent = `${total} tasks`;
  }

  function runNode(run) {
    return h("li", {class: "run", "data-id": run.id, "data-status": run.status},
             h("div", {class: "row"},
               h("span", {class: `status-dot ${run.status}`, title: run.status}),
               h("span", {class: "who clamp", title: run.agent_type}, run.agent_type || "agent"),
               h("span", {class: `badge ${run.status}`}, words(run.status)),
               h("span", {class: "task-ref"}, run.task ? `on ${run.task}` : "")),
             run.children && run.children.length ? h("ul", {}, run.children.map(runNode)) : null);
  }

  function countLive(nodes) {
    return nodes.reduce((n, run) => n + (run.status === "active" || run.status === "launched" ? 1 : 0) +
                                    countLive(run.children || []), 0);
  }

  function renderAgents(state) {
    const sessions = state.agents;
    const live = sessions.reduce((n, s) => n + countLive(s.children), 0);
    $("#agents-live").textContent = `${live} live`;
    if (!sessions.length) {
      $("#agents").replaceChildren(h("p", {class: "empty"}, "No agent has run yet."));
      return;
    }
    $("#agents").replaceChildren(...sessions.map((s) => h("div", {class: "session", "data-session": s.session_id},
      h("div", {class: "session-head"}, h("span", {class: "mono"}, `session ${s.session_id.slice(0, 8)}`),
        h("span", {}, s.ended_at ? `ended ${clock(s.ended_at)}` : "open")),
      h("ul", {class: "tree"}, h("li", {class: "root-node"}, "main thread",
        s.children.length ? h("ul", {}, s.children.map(runNode)) : null)))));
  }

  function kind(type) {
    const head = type.split(/[._]/)[0];
    return {task: "k-task", agent: "k-agent", delegation: "k-agent", parent: "k-agent", message: "k-message",
            sprint: "k-sprint", security: "k-alert", tool: "k-tool", status: "k-task"}[head] || "";
  }

  function renderEvents(state) {
    const fresh = seenEvents;
    seenEvents = new Set(state.events.map((e) => e.id));
    $("#events-last").textContent = state.events.length ? `#${state.events[0].id} · times in UTC` : "";
    const rows = state.events.map((event) => {
      const row = h("li", {"data-id": event.id, "data-type": event.type},
                    h("time", {datetime: event.ts, title: event.ts}, clock(event.ts)),
                    h("div", {}, h("span", {class: `kind ${kind(event.type)}`}, words(event.type)), event.text));
      if (fresh && !fresh.has(event.id)) row.classList.add("fresh");
      return row;
    });
    $("#events").replaceChildren(...(rows.length ? rows : [h("li", {class: "empty"}, "No events yet.")]));
  }

  function renderMessages(state) {
    const rows = state.messages.map((m) => h("li", {"data-id": m.id, "data-status": m.status},
      h("div", {class: "msg-head"}, h("b", {}, m.from_type || m.from), "→", h("b", {}, m.to),
        h("span", {class: `badge ${m.priority === "normal" ? "" : m.priority}`}, words(m.type)),
        h("time", {datetime: m.timestamp, title: m.timestamp}, clock(m.timestamp))),
      h("div", {class: "msg-text"}, m.text)));
    $("#messages").replaceChildren(...(rows.length ? rows : [h("li", {class: "empty"}, "No messages yet.")]));
  }

  function renderProblem(state) {
    const problem = $("#problem");
    problem.hidden = !state.problem;
    problem.textContent = state.problem || "";
  }

  function render(state) {
    renderProblem(state);
    renderHeader(state);
    renderSprint(state);
    renderMetrics(state);
    renderQueue(state);
    renderAgents(state);
    renderEvents(state);
    renderMessages(state);
    document.body.dataset.lastEvent = String(state.last_event_id);
    document.body.dataset.generated = state.generated_at;
  }

  // -- connection ---------------------------------------------------------------------------------

  // Text from state without bidirectional embeddings, overrides and isolates: one would show the rest of
  // its element reversed ("\u202eevil" reads "live").
  const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

  function shown(key, value) {
    return typeof value === "string" ? value.replace(BIDI, "") : value;
  }

  function status(kind, text) {
    $("#conn").className = `conn ${kind}`;
    $("#conn-text").textContent = text;
  }

  function connect(delay) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => { delay = 1000; status("live", "live"); };
    socket.onmessage = (message) => {
      const body = JSON.parse(message.data, shown);
      if (body.type === "snapshot") render(body.data);
    };
    socket.onclose = () => {
      status("down", "reconnecting…");
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }

  connect(1000);
})();
