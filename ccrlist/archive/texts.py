"""Every word of the list archive's pages and of its sign-in mail, in English and French
(pure)."""

from __future__ import annotations

from dataclasses import dataclass

from subscribers.models import Lang


@dataclass(frozen=True)
class ArchiveTexts:
    """The words of the list archive's pages and of its sign-in mail."""

    lang: Lang
    switch_to: str  # the link to the other language
    months: tuple[str, ...]
    date: str  # "{day} {month} {year}"
    archive_title: str
    archives_title: str
    no_subject: str
    one_post: str
    n_posts: str
    months_heading: str
    latest_heading: str
    month_empty: str
    started_by: str
    thread_heading: str
    whole_thread: str
    in_reply_to: str
    back_to_list: str
    attachments: str
    quoted: str
    quoted_html: str
    search_heading: str
    label_words: str
    label_author: str
    label_from: str
    label_to: str
    search_button: str
    search_help: str
    results_heading: str
    no_results: str
    bad_date: str
    next_page: str
    previous_page: str
    feed_link: str
    personal_feed: str
    signin_title: str
    signin_intro: str
    signin_button: str
    signin_sent: str
    signin_prompt: str
    signin_confirm: str
    link_expired: str
    link_used: str
    link_unknown: str
    signed_in_as: str
    signout_button: str
    signed_out: str
    not_member: str
    no_archive: str
    not_found_title: str
    not_found: str
    no_lists: str
    mail_signin_subject: str
    mail_signin_body: str


ARCHIVE_EN = ArchiveTexts(
    lang="en",
    switch_to="Français",
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    date="{day} {month} {year}",
    archive_title="{list} archive",
    archives_title="List archives",
    no_subject="(no subject)",
    one_post="1 message",
    n_posts="{n} messages",
    months_heading="Messages by month",
    latest_heading="Latest discussions",
    month_empty="No messages this month.",
    started_by="started by {author}",
    thread_heading="Discussion",
    whole_thread="The whole discussion",
    in_reply_to="In reply to",
    back_to_list="Back to the {list} archive",
    attachments="Attachments",
    quoted="Quoted text ({n} lines)",
    quoted_html="Quoted text",
    search_heading="Search",
    label_words="Words",
    label_author="Author (name or address)",
    label_from="From (YYYY-MM-DD)",
    label_to="To (YYYY-MM-DD)",
    search_button="Search",
    search_help="Accents and capitals do not matter, and a word also finds the longer words "
                "it starts (refugee finds refugees). Put an exact phrase in quotes.",
    results_heading="Search results",
    no_results="No messages match.",
    bad_date="Dates are written YYYY-MM-DD, for example 2026-03-31.",
    next_page="Next page",
    previous_page="Previous page",
    feed_link="Atom feed of new discussions",
    personal_feed="Your own feed of new discussions (keep this address to yourself, "
                  "it lets anyone read the feed): {url}",
    signin_title="Sign in to the {list} archive",
    signin_intro="The archive of {list} is open to its members. Enter your address: we "
                 "will send you a link to sign in. There is no password.",
    signin_button="Send me a link",
    signin_sent="If {address} is a member of {list}, a message with a sign-in link is on "
                "its way to it. The link works once, within {minutes} minutes.",
    signin_prompt="Sign in to the archive of {list} as {address}?",
    signin_confirm="Sign in",
    link_expired="This sign-in link has expired. Please ask for a new one.",
    link_used="This sign-in link has already been used. Please ask for a new one.",
    link_unknown="This sign-in link is not valid. Please check that you copied all of it.",
    signed_in_as="Signed in as {address}",
    signout_button="Sign out",
    signed_out="You are signed out.",
    not_member="You are signed in as {address}, which is not a member of {list}. Sign out "
               "and sign in with the address you receive {list} at.",
    no_archive="{list} has no web archive.",
    not_found_title="Not found",
    not_found="There is no such page in this archive.",
    no_lists="No list has a web archive.",
    mail_signin_subject="Your link to the {list} archive",
    mail_signin_body=(
        "Someone, probably you, asked to sign in to the archive of {list} as {address}.\n\n"
        "To sign in, open this link within {minutes} minutes:\n\n  {link}\n\n"
        "It works once. If you did not ask for this, ignore this message.\n"),
)


ARCHIVE_FR = ArchiveTexts(
    lang="fr",
    switch_to="English",
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    date="{day} {month} {year}",
    archive_title="Archives de {list}",
    archives_title="Archives des listes",
    no_subject="(sans objet)",
    one_post="1 message",
    n_posts="{n} messages",
    months_heading="Messages par mois",
    latest_heading="Discussions récentes",
    month_empty="Aucun message ce mois-ci.",
    started_by="lancée par {author}",
    thread_heading="Discussion",
    whole_thread="Toute la discussion",
    in_reply_to="En réponse à",
    back_to_list="Retour aux archives de {list}",
    attachments="Pièces jointes",
    quoted="Texte cité ({n} lignes)",
    quoted_html="Texte cité",
    search_heading="Recherche",
    label_words="Mots",
    label_author="Auteur (nom ou adresse)",
    label_from="Du (AAAA-MM-JJ)",
    label_to="Au (AAAA-MM-JJ)",
    search_button="Rechercher",
    search_help="Les accents et les majuscules ne comptent pas, et un mot trouve aussi les "
                "mots plus longs qui commencent ainsi (refugie trouve réfugiés). Mettez une "
                "expression exacte entre guillemets.",
    results_heading="Résultats de la recherche",
    no_results="Aucun message ne correspond.",
    bad_date="Les dates s'écrivent AAAA-MM-JJ, par exemple 2026-03-31.",
    next_page="Page suivante",
    previous_page="Page précédente",
    feed_link="Fil Atom des nouvelles discussions",
    personal_feed="Votre fil personnel des nouvelles discussions (gardez cette adresse pour "
                  "vous : elle permet à quiconque de lire le fil) : {url}",
    signin_title="Connexion aux archives de {list}",
    signin_intro="Les archives de {list} sont réservées à ses membres. Indiquez votre "
                 "adresse : nous vous enverrons un lien de connexion. Il n'y a pas de mot "
                 "de passe.",
    signin_button="M'envoyer un lien",
    signin_sent="Si {address} est membre de {list}, un message avec un lien de connexion "
                "lui a été envoyé. Le lien fonctionne une fois, d'ici {minutes} minutes.",
    signin_prompt="Vous connecter aux archives de {list} en tant que {address}?",
    signin_confirm="Me connecter",
    link_expired="Ce lien de connexion a expiré. Veuillez en demander un nouveau.",
    link_used="Ce lien de connexion a déjà servi. Veuillez en demander un nouveau.",
    link_unknown="Ce lien de connexion n'est pas valide. Vérifiez que vous l'avez copié en "
                 "entier.",
    signed_in_as="Connecté en tant que {address}",
    signout_button="Me déconnecter",
    signed_out="Vous êtes déconnecté.",
    not_member="Vous êtes connecté en tant que {address}, qui n'est pas membre de {list}. "
               "Déconnectez-vous, puis connectez-vous avec l'adresse où vous recevez {list}.",
    no_archive="{list} n'a pas d'archives en ligne.",
    not_found_title="Page introuvable",
    not_found="Cette page n'existe pas dans ces archives.",
    no_lists="Aucune liste n'a d'archives en ligne.",
    mail_signin_subject="Votre lien vers les archives de {list}",
    mail_signin_body=(
        "Quelqu'un, sans doute vous, a demandé à se connecter aux archives de {list} en "
        "tant que {address}.\n\n"
        "Pour vous connecter, ouvrez ce lien d'ici {minutes} minutes :\n\n  {link}\n\n"
        "Il fonctionne une fois. Si vous n'avez rien demandé, ignorez ce message.\n"),
)


def archive_texts(lang: str) -> ArchiveTexts:
    """The archive's words for `lang`, English for anything we do not speak."""
    return ARCHIVE_FR if lang == "fr" else ARCHIVE_EN
