/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-application.h"
#include "herald-renderer.h"
#include "herald-ui-private.h"
#include "herald-window.h"

struct _HeraldApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (HeraldApplication, herald_application, ADW_TYPE_APPLICATION)

static void
herald_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (herald_window_new (HERALD_APPLICATION (application)));

  gtk_window_present (window);
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *application = user_data;
  GtkWindow *parent = gtk_application_get_active_window (application);
  const char *developers[] = { _("The Herald authors"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-name", _("Herald"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Herald authors"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Test the mail settings of alerting apps, and learn how to fix what fails"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "copyright", "© 2026 The Herald authors",
                        "developers", developers,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GtkApplication *application = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (application));

  /* Close the windows rather than quitting outright, so each one saves its
   * size and stores the password in the keyring on the way out. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
  g_list_free (windows);
}

static const GActionEntry app_actions[] = {
  { "about", about_activated },
  { "quit", quit_activated },
};

static void
herald_application_startup (GApplication *application)
{
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *shortcuts_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (herald_application_parent_class)->startup (application);

  /* The display is open now and no window is realized yet: the last moment
   * to choose the renderer (cairo when GL is a software rasteriser). */
  herald_renderer_ensure (gdk_display_get_default ());

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "win.show-help-overlay",
                                         shortcuts_accels);

  gtk_window_set_default_icon_name (APP_ID);

  /* Light or dark as the system prefers. */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
}

static void
herald_application_class_init (HeraldApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = herald_application_activate;
  app_class->startup = herald_application_startup;
}

static void
herald_application_init (HeraldApplication *self)
{
  _herald_ui_ensure_resources ();
}

HeraldApplication *
herald_application_new (void)
{
  return g_object_new (HERALD_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/heraldmail/Herald",
                       NULL);
}
