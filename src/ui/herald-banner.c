/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-banner.h"
#include "herald-diagnosis.h"
#include "herald-ui-private.h"

/* The persistent banner at the top of the window, for the outcome of the
 * last test: a GtkRevealer holding a box with the "success" or "error"
 * style, the result sentence, the notices, for a failure a Details button
 * (signal "details") and a dismiss button. AdwBanner does not exist in
 * libadwaita 1.2. */
struct _HeraldBanner
{
  GtkWidget    parent_instance;

  GtkRevealer *revealer;
  GtkWidget   *box;
  GtkImage    *icon;
  GtkLabel    *title_label;
  GtkBox      *notices_box;
  GtkWidget   *details_button;
};

G_DEFINE_FINAL_TYPE (HeraldBanner, herald_banner, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_REVEALED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DETAILS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
dismiss_clicked_cb (HeraldBanner *self)
{
  herald_banner_dismiss (self);
}

static void
details_clicked_cb (HeraldBanner *self)
{
  g_signal_emit (self, signals[DETAILS], 0);
}

static void
clear_notices (HeraldBanner *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->notices_box))))
    gtk_box_remove (self->notices_box, child);
  gtk_widget_set_visible (GTK_WIDGET (self->notices_box), FALSE);
}

/* Folded away, the box is hidden too: its text and buttons are then neither
 * read by a screen reader nor Tab stops (a collapsed GtkRevealer only stops
 * drawing its child). */
static void
child_revealed_cb (HeraldBanner *self)
{
  if (!gtk_revealer_get_child_revealed (self->revealer) &&
      !gtk_revealer_get_reveal_child (self->revealer))
    gtk_widget_set_visible (self->box, FALSE);
}

static void
herald_banner_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HERALD_TYPE_BANNER);

  G_OBJECT_CLASS (herald_banner_parent_class)->dispose (object);
}

static void
herald_banner_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  HeraldBanner *self = HERALD_BANNER (object);

  switch (prop_id)
    {
    case PROP_REVEALED:
      g_value_set_boolean (value, herald_banner_get_revealed (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
herald_banner_class_init (HeraldBannerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = herald_banner_dispose;
  object_class->get_property = herald_banner_get_property;

  properties[PROP_REVEALED] =
    g_param_spec_boolean ("revealed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  _herald_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/heraldmail/Herald/herald-banner.ui");
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, revealer);
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, box);
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, icon);
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, title_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, notices_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldBanner, details_button);
  gtk_widget_class_bind_template_callback (widget_class, dismiss_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, details_clicked_cb);

  /* Details was pressed on a failure banner. */
  signals[DETAILS] =
    g_signal_new ("details", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "heraldbanner");
}

static void
herald_banner_init (HeraldBanner *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_visible (self->box, FALSE);
  g_signal_connect_object (self->revealer, "notify::child-revealed",
                           G_CALLBACK (child_revealed_cb), self, G_CONNECT_SWAPPED);
}

GtkWidget *
herald_banner_new (void)
{
  return g_object_new (HERALD_TYPE_BANNER, NULL);
}

static void
set_failed (HeraldBanner *self,
            gboolean      failed)
{
  gtk_widget_remove_css_class (self->box, failed ? "success" : "error");
  gtk_widget_add_css_class (self->box, failed ? "error" : "success");
  gtk_image_set_from_icon_name (self->icon, failed ? "dialog-error-symbolic"
                                                   : "emblem-ok-symbolic");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  failed ? _("Failed") : _("Success"),
                                  -1);
  gtk_widget_set_visible (self->details_button, failed);
}

static void
reveal (HeraldBanner *self)
{
  gtk_widget_set_visible (self->box, TRUE);
  if (!gtk_revealer_get_reveal_child (self->revealer))
    {
      gtk_revealer_set_reveal_child (self->revealer, TRUE);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVEALED]);
    }
}

void
herald_banner_show_failure (HeraldBanner *self,
                            const char   *title)
{
  g_return_if_fail (HERALD_IS_BANNER (self));
  g_return_if_fail (title != NULL);

  gtk_label_set_text (self->title_label, title);
  clear_notices (self);
  set_failed (self, TRUE);
  reveal (self);
}

gboolean
herald_banner_get_failed (HeraldBanner *self)
{
  g_return_val_if_fail (HERALD_IS_BANNER (self), FALSE);

  return gtk_widget_has_css_class (self->box, "error");
}

void
herald_banner_show_success (HeraldBanner *self,
                            const char   *title,
                            GPtrArray    *notices)
{
  g_return_if_fail (HERALD_IS_BANNER (self));
  g_return_if_fail (title != NULL);

  gtk_label_set_text (self->title_label, title);
  clear_notices (self);
  set_failed (self, FALSE);

  for (guint i = 0; notices != NULL && i < notices->len; i++)
    {
      const HeraldDiagnosis *notice = g_ptr_array_index (notices, i);
      g_autofree char *text = NULL;
      GtkWidget *label;

      if (notice->explanation != NULL && *notice->explanation != '\0')
        text = g_strdup_printf ("%s — %s", notice->title, notice->explanation);
      else
        text = g_strdup (notice->title);

      label = gtk_label_new (text);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_label_set_selectable (GTK_LABEL (label), TRUE);
      /* Selectable with the pointer, but read-only text is no Tab stop. */
      gtk_widget_set_focusable (label, FALSE);
      g_object_set_data_full (G_OBJECT (label), "herald-notice-title",
                              g_strdup (notice->title), g_free);
      gtk_widget_add_css_class (label, "herald-notice");
      gtk_box_append (self->notices_box, label);
      gtk_widget_set_visible (GTK_WIDGET (self->notices_box), TRUE);
    }

  reveal (self);
}

void
herald_banner_dismiss (HeraldBanner *self)
{
  g_return_if_fail (HERALD_IS_BANNER (self));

  if (!gtk_revealer_get_reveal_child (self->revealer))
    return;

  gtk_revealer_set_reveal_child (self->revealer, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVEALED]);
}

gboolean
herald_banner_get_revealed (HeraldBanner *self)
{
  g_return_val_if_fail (HERALD_IS_BANNER (self), FALSE);

  return gtk_revealer_get_reveal_child (self->revealer);
}

const char *
herald_banner_get_title (HeraldBanner *self)
{
  g_return_val_if_fail (HERALD_IS_BANNER (self), NULL);

  return gtk_label_get_text (self->title_label);
}

char **
herald_banner_dup_notice_titles (HeraldBanner *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HERALD_IS_BANNER (self), NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->notices_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *title = g_object_get_data (G_OBJECT (child), "herald-notice-title");

      if (title != NULL)
        g_strv_builder_add (builder, title);
    }

  return g_strv_builder_end (builder);
}
