// The command centre: sign in, pick a screen, follow the live feed.
// Each screen module owns its part of the page and exposes refresh() and
// onEvent(kind, event); the live feed routes events to them, so the page
// never reloads as a whole.

import { api, follow, session, ApiError } from './api.js';
import { toast } from './dom.js';
import * as incidents from './incidents.js';
import * as rate from './rate.js';
import * as queue from './queue.js';
import * as team from './team.js';
import * as offhours from './offhours.js';

const screens = { incidents, rate, queue, team, offhours };
const $ = (id) => document.getElementById(id);
let stopFeed = null;

/** What the signed-in person may do, from their roles. */
export const can = { command: false, reply: false, me: null };

async function signIn(token) {
  session.token = token;
  let me;
  try {
    me = await api('GET', '/v1/me');
  } catch (e) {
    session.token = null;
    throw e;
  }
  can.me = me;
  can.command = me.roles.includes('commander');
  can.reply = me.roles.includes('staff') || me.roles.includes('commander');
  $('me').textContent = `${me.name || me.actor} · ${me.roles.join(', ')}`;
  $('login').hidden = true;
  document.querySelector('.tabs').hidden = false;
  document.querySelector('.who').hidden = false;
  document.body.classList.add('signed-in');
  for (const s of Object.values(screens)) s.init({ can });
  stopFeed = follow(onEvent, onFeedState);
  route();
  for (const s of Object.values(screens)) s.refresh().catch(report);
}

function signOut(message) {
  session.token = null;
  if (stopFeed) stopFeed();
  stopFeed = null;
  document.body.classList.remove('signed-in');
  document.querySelector('.tabs').hidden = true;
  document.querySelector('.who').hidden = true;
  for (const el of document.querySelectorAll('.screen')) el.hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

function onFeedState(state) {
  const el = $('live');
  el.dataset.state = state;
  el.textContent = { live: '● live', reconnecting: 'reconnecting…', 'signed-out': 'signed out' }[state] || state;
  if (state === 'signed-out') signOut('Your token is no longer accepted.');
  // After a gap, what was missed is read again.
  if (state === 'live') for (const s of Object.values(screens)) s.refresh().catch(report);
}

function onEvent(kind, ev) {
  if (kind === 'lagged') {
    for (const s of Object.values(screens)) s.refresh().catch(report);
    return;
  }
  for (const s of Object.values(screens)) s.onEvent(kind, ev);
}

/** Shows the screen named in the location hash (never a secret there). */
function route() {
  const name = (location.hash || '#incidents').slice(1);
  const current = screens[name] ? name : 'incidents';
  for (const key of Object.keys(screens)) {
    const tab = $(`tab-${key}`);
    const on = key === current;
    $(key).hidden = !on;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  screens[current].shown?.();
}

/** Arrow keys move between tabs, as in any tab list. */
function tabKeys(e) {
  if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
  const tabs = [...document.querySelectorAll('[role=tab]')];
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const next = e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1
    : (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
  tabs[next].focus();
  tabs[next].click();
  e.preventDefault();
}

export function report(e) {
  if (e instanceof ApiError && e.status === 401) return signOut('Your token is no longer accepted.');
  toast(e.message || String(e), true);
}

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  document.querySelector('.tabs').addEventListener('keydown', tabKeys);
  $('logout').addEventListener('click', () => signOut(''));
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = $('token').value.trim();
    $('login-error').textContent = '';
    try {
      await signIn(token);
    } catch (err) {
      $('login-error').textContent = err.status === 401
        ? 'This token is not known to squall.' : (err.message || 'Sign-in failed.');
    }
  });
  if (session.token) signIn(session.token).catch(() => signOut(''));
  else $('token').focus();
});
