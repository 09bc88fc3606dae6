/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

/* first-frame [--settle MS] -- PROGRAM [ARGS...]
 *
 * Launches PROGRAM on the X display in $DISPLAY and measures, from outside
 * the process, the time from launch to its first frame: the first DAMAGE
 * event on a top-level window it maps (the moment pixels land). Then it lets
 * the program run for --settle ms (default 500), sends SIGTERM and reports
 * its peak RSS (from wait4; the child is forked from this small program, so
 * the figure is the program's own). Prints one line:
 *   first_frame_ms=<x> map_ms=<y> peak_rss_kib=<z>
 * Exits 1 when no frame came within 20 s. Used by bench/window-bench.sh for
 * Herald's window and for bench/bare-window (the floor). */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/Xdamage.h>

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Whether a vertical strip through the middle of the window is one colour. */
static int
is_flat (Display *dpy,
         Window   win)
{
  XWindowAttributes attrs;
  XImage *img;
  unsigned long first;
  int flat = 1;

  if (!XGetWindowAttributes (dpy, win, &attrs) || attrs.width < 2 || attrs.height < 2)
    return 1;
  img = XGetImage (dpy, win, attrs.width / 2, 0, 1, attrs.height, AllPlanes, ZPixmap);
  if (img == NULL)
    return 1;
  first = XGetPixel (img, 0, 0);
  for (int y = 1; y < attrs.height && flat; y++)
    flat = XGetPixel (img, 0, y) == first;
  XDestroyImage (img);
  return flat;
}

int
main (int   argc,
      char *argv[])
{
  Display *dpy;
  int damage_event, damage_error;
  int settle = 500;
  int first = 1;
  double t0, t_map = -1, t_frame = -1;
  pid_t pid;
  int status;
  struct rusage ru;

  while (first < argc && strcmp (argv[first], "--") != 0)
    {
      if (strcmp (argv[first], "--settle") == 0 && first + 1 < argc)
        settle = atoi (argv[++first]);
      first++;
    }
  if (first + 1 >= argc)
    {
      fprintf (stderr, "usage: first-frame [--settle MS] -- PROGRAM [ARGS...]\n");
      return 2;
    }

  dpy = XOpenDisplay (NULL);
  if (dpy == NULL)
    {
      fprintf (stderr, "first-frame: cannot open display\n");
      return 2;
    }
  if (!XDamageQueryExtension (dpy, &damage_event, &damage_error))
    {
      fprintf (stderr, "first-frame: no DAMAGE extension\n");
      return 2;
    }
  XSelectInput (dpy, DefaultRootWindow (dpy), SubstructureNotifyMask);
  XSync (dpy, False);

  t0 = now_ms ();
  pid = fork ();
  if (pid == 0)
    {
      close (ConnectionNumber (dpy));
      execvp (argv[first + 1], argv + first + 1);
      _exit (127);
    }

  while (t_frame < 0 && now_ms () - t0 < 20000)
    {
      struct pollfd pfd = { ConnectionNumber (dpy), POLLIN, 0 };

      if (XPending (dpy) == 0)
        {
          if (waitpid (pid, &status, WNOHANG) == pid)
            {
              fprintf (stderr, "first-frame: the program exited before its first frame\n");
              return 1;
            }
          poll (&pfd, 1, 50);
          continue;
        }
      while (XPending (dpy) > 0)
        {
          XEvent ev;

          XNextEvent (dpy, &ev);
          if (ev.type == MapNotify && ev.xmap.event == DefaultRootWindow (dpy)
              && !ev.xmap.override_redirect)
            {
              XWindowAttributes attrs;

              if (XGetWindowAttributes (dpy, ev.xmap.window, &attrs)
                  && attrs.class == InputOutput)
                {
                  if (t_map < 0)
                    t_map = now_ms () - t0;
                  XDamageCreate (dpy, ev.xmap.window, XDamageReportNonEmpty);
                  XSync (dpy, False);
                }
            }
          else if (ev.type == damage_event + XDamageNotify && t_frame < 0)
            {
              XDamageNotifyEvent *de = (XDamageNotifyEvent *) &ev;
              double t = now_ms () - t0;

              XDamageSubtract (dpy, de->damage, None, None);
              /* Mapping clears the window to its background, which is
               * damage too: the first frame is the first damage after
               * which the window is no longer one flat colour. */
              if (!is_flat (dpy, de->drawable))
                t_frame = t;
            }
        }
    }

  if (t_frame >= 0)
    usleep (settle * 1000);
  kill (pid, SIGTERM);
  if (wait4 (pid, &status, 0, &ru) < 0)
    memset (&ru, 0, sizeof ru);
  if (t_frame < 0)
    {
      fprintf (stderr, "first-frame: no frame within 20 s\n");
      return 1;
    }
  printf ("first_frame_ms=%.1f map_ms=%.1f peak_rss_kib=%ld\n", t_frame, t_map, ru.ru_maxrss);
  XCloseDisplay (dpy);
  return 0;
}
