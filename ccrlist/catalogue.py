"""Every text a subscriber reads, on web pages and in emails, in English and French (pure).

Texts are `str.format` templates; pages escape the values, emails are plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from subscribers.models import Lang


@dataclass(frozen=True)
class Messages:
    lang: Lang
    language_name: str
    # Web pages
    subscribe_title: str
    subscribe_intro: str
    label_email: str
    label_name: str
    label_lang: str
    button_subscribe: str
    subscribe_sent: str
    bad_address: str
    too_many: str
    unknown_list: str
    form_expired: str
    bad_form: str
    confirm_title: str
    confirm_subscribe_prompt: str
    confirm_unsubscribe_prompt: str
    button_confirm: str
    confirmed_subscribe: str
    confirmed_unsubscribe: str
    token_expired: str
    token_used: str
    token_unknown: str
    unsubscribe_title: str
    unsubscribe_prompt: str
    button_unsubscribe: str
    unsubscribed: str
    leave_intro: str
    leave_sent: str
    not_found_title: str
    # Emails
    mail_confirm_subscribe_subject: str
    mail_confirm_subscribe_body: str
    mail_confirm_unsubscribe_subject: str
    mail_confirm_unsubscribe_body: str
    mail_done_subscribe_subject: str
    mail_done_unsubscribe_subject: str
    mail_done_body: str
    mail_not_member_subject: str
    mail_not_member_body: str
    mail_help_subject: str
    mail_help_body: str
    mail_disabled_subject: str
    mail_disabled_body: str
    # Owners' notices (ccrlist/moderation/): a held post, a post's failed deliveries
    mail_held_subject: str
    mail_held_body: str
    held_reason_nonmember: str
    held_reason_not_editor: str
    held_reason_dmarc: str
    mail_moderated_approved_subject: str
    mail_moderated_approved_body: str
    mail_moderated_rejected_subject: str
    mail_moderated_rejected_body: str
    mail_failures_subject: str
    mail_failures_body: str
    mail_failures_more: str
    mail_failures_deferred: str
    # The subscription page, /u/<token>
    page_title: str
    page_intro: str
    label_delivery: str
    mode_each: str
    mode_daily: str
    mode_weekly: str
    label_format: str
    format_mime: str
    format_plain: str
    label_pause: str
    pause_box: str
    label_pause_until: str
    pause_hint: str
    label_language: str
    button_save: str
    saved: str
    bad_pause_date: str
    bad_choice: str
    paused_until_note: str
    paused_note: str
    inactive: str
    unsubscribe_heading: str
    # Delivery changes by email (`set digest daily`, `set nomail`, ...) and their answer
    mail_delivery_subject: str
    mail_delivery_body: str
    # How a member receives a list, in their own words (the page, the answers)
    state_each: str
    state_daily: str
    state_weekly: str
    state_plain: str
    state_paused: str
    state_paused_until: str
    no_digests: str
    # Digests
    digest_subject: str
    digest_title: str
    digest_kind_daily: str
    digest_kind_weekly: str
    digest_kind_each: str
    digest_one: str
    digest_many: str
    digest_manage: str
    digest_topics: str
    digest_preamble: str
    digest_end: str
    digest_no_subject: str
    digest_no_text: str
    digest_attachment: str
    weekdays: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    long_date: str  # "{weekday} {day} {month} {year}"
    first_day: str  # how the first of a month is written ("1", "1er")


EN = Messages(
    lang="en",
    language_name="English",
    subscribe_title="Subscribe to {list}",
    subscribe_intro="Enter your email address. We will send you a message with a link; "
                    "you are subscribed only after you click it.",
    label_email="Email address",
    label_name="Name (optional)",
    label_lang="Language",
    button_subscribe="Subscribe",
    subscribe_sent="Thank you. If {address} can be subscribed to {list}, a message is on its "
                   "way to it. Please click the link in that message within {days} days. "
                   "If none comes, a confirmation message sent in the last {days} days "
                   "works too: after a few requests a day we send no more.",
    bad_address="This email address is not valid. Please check it and try again.",
    too_many="Too many requests. Please try again later.",
    unknown_list="There is no list by that name.",
    form_expired="This form has expired or was sent from another site. "
                 "Please reload the page and try again.",
    bad_form="Your browser sent a form that could not be read. "
             "Please reload the page and try again.",
    confirm_title="Please confirm",
    confirm_subscribe_prompt="Confirm that {address} joins {list}.",
    confirm_unsubscribe_prompt="Confirm that {address} leaves {list}.",
    button_confirm="Confirm",
    confirmed_subscribe="Done: {address} is now subscribed to {list}.",
    confirmed_unsubscribe="Done: {address} is unsubscribed from {list}.",
    token_expired="This confirmation link has expired. Please ask again.",
    token_used="This confirmation link has already been used.",
    token_unknown="This link is not valid. Please check that you copied all of it.",
    unsubscribe_title="Unsubscribe from {list}",
    unsubscribe_prompt="Unsubscribe {address} from {list}?",
    button_unsubscribe="Unsubscribe",
    unsubscribed="{address} is unsubscribed from {list}. You will receive no more messages.",
    leave_intro="Enter the email address you are subscribed with. We will send it a message "
                "with a link; you are unsubscribed only after you click it.",
    leave_sent="Thank you. If {address} is subscribed to {list}, a message is on its way to "
               "it. Please click the link in that message within {days} days. If none comes, "
               "a confirmation message sent in the last {days} days works too: after a few "
               "requests a day we send no more.",
    not_found_title="Link not valid",
    mail_confirm_subscribe_subject="Confirm your subscription to {list}",
    mail_confirm_subscribe_body=(
        "Someone, probably you, asked to subscribe {address} to {list}.\n\n"
        "To confirm, open this link within {days} days:\n\n  {link}\n\n"
        "or simply reply to this message.\n\n"
        "If you did not ask for this, ignore this message: nothing will happen.\n"),
    mail_confirm_unsubscribe_subject="Confirm that you are leaving {list}",
    mail_confirm_unsubscribe_body=(
        "Someone, probably you, asked to unsubscribe {address} from {list}.\n\n"
        "To confirm, open this link within {days} days:\n\n  {link}\n\n"
        "or simply reply to this message.\n\n"
        "If you did not ask for this, ignore this message: you stay subscribed.\n"),
    mail_done_subscribe_subject="Welcome to {list}",
    mail_done_unsubscribe_subject="You have left {list}",
    mail_done_body="{result}\n",
    mail_not_member_subject="{list}: not subscribed",
    mail_not_member_body="{address} is not subscribed to {list}, so nothing was changed.\n",
    mail_help_subject="{list}: help",
    mail_help_body=(
        "To join {list}, send a message to {join} or visit {web}.\n"
        "To leave, send a message to {leave}.\n"
        "You may also write 'subscribe', 'unsubscribe' or 'help' as the subject\n"
        "of a message to {request}.\n"
        "Members may write there 'set digest daily', 'set digest weekly' or\n"
        "'set digest off' (each post again), 'set digest plain' or 'set digest mime'\n"
        "(the digest's format), 'set nomail' (pause) or 'set mail' (resume); the link\n"
        "at the foot of every digest leads to your own subscription page too.\n"
        "To reach the people who run the list, write to {owner}.\n"),
    mail_disabled_subject="{list}: {address} disabled after repeated bounces",
    mail_disabled_body=(
        "Deliveries to {address} on {list} failed on {score} days within {window} days,\n"
        "so the membership is now disabled and receives no mail.\n\n"
        "Last failure: {reason}\n\n"
        "To re-enable it: ccrlist members enable {address} --list {list}\n"),
    mail_held_subject="[{list}] Held for moderation: {subject}",
    mail_held_body=(
        "A message to {list} is held until a list owner decides what to do with it.\n\n"
        "  From:      {author}\n"
        "  Subject:   {subject}\n"
        "  Received:  {received}\n"
        "  Why held:  {reason}\n"
        "  Post:      {id} ({permalink})\n\n"
        "To send it to the list, reply to this message with this word on the first line:\n\n"
        "    approve\n\n"
        "To refuse it, write instead (a reason after the word is optional):\n\n"
        "    reject not for this list\n\n"
        "Only a reply from a list owner's own address counts, and the reply address of\n"
        "this message works once. On the server, the same is done with:\n\n"
        "    ccrlist held show {id}\n"
        "    ccrlist held approve {id}\n"
        "    ccrlist held reject {id} --reason \"...\"\n\n"
        "The beginning of the message:\n\n{excerpt}\n"),
    held_reason_nonmember="the author is not a member of the list",
    held_reason_not_editor="only the editors may post to this list",
    held_reason_dmarc=("it fails the DMARC check of its sender's domain (the sender may be "
                       "forged)"),
    mail_moderated_approved_subject="[{list}] Approved: {subject}",
    mail_moderated_approved_body=("Post {id} ({permalink}) from {author} is approved and goes "
                                  "to the list.\n"),
    mail_moderated_rejected_subject="[{list}] Rejected: {subject}",
    mail_moderated_rejected_body=("Post {id} ({permalink}) from {author} is rejected and will "
                                  "not be sent.\nReason recorded: {reason}\n"),
    mail_failures_subject="[{list}] {failed} of {total} copies of \"{subject}\" not delivered",
    mail_failures_body=(
        "The post \"{subject}\" from {author} (post {id}, {permalink}, received\n"
        "{received}) went to {total} recipient(s); {failed} of them did not get it. Each\n"
        "with the reply their mail server or our relay gave:\n\n"
        "{lines}\n\n"
        "{deferred}"
        "A refusal (a 5xx reply) counts as a bounce: a member whose deliveries fail on\n"
        "{threshold} day(s) within {window} days is disabled, and you are told.\n\n"
        "  ccrlist deliveries --post {id}          every delivery of this post\n"
        "  ccrlist retry --post {id} --failed      try the failed ones again, once fixed\n"
        "  ccrlist members show ADDRESS            a member's lists, bounces, last delivery\n"),
    mail_failures_more="  ... and {more} more: ccrlist deliveries --post {id} --status failed",
    mail_failures_deferred=("{deferred} more are still being retried; you will hear about "
                            "those that give up.\n\n"),
    page_title="Your subscription to {list}",
    page_intro="How {address} receives {list}.",
    label_delivery="How you receive posts",
    mode_each="Each post as it is sent",
    mode_daily="One digest a day, at {time}",
    mode_weekly="One digest a week, on {weekday} at {time}",
    label_format="Digest format",
    format_mime="MIME: each post a message of its own, in one email",
    format_plain="Plain text (RFC 1153): the posts one after the other",
    label_pause="Pause",
    pause_box="Pause delivery: no mail from {list} for now",
    label_pause_until="Until (optional)",
    pause_hint="Without a date, the pause lasts until you end it here.",
    label_language="Language of this page and of our messages",
    button_save="Save",
    saved="Saved. {state}.",
    bad_pause_date="Please choose a date after today for the end of the pause, or none.",
    bad_choice="Please choose one of the options offered.",
    paused_until_note="Delivery is paused until {date}.",
    paused_note="Delivery is paused.",
    inactive="{address} receives no mail from {list} at the moment. "
             "To have it enabled again, write to {owner}.",
    unsubscribe_heading="Unsubscribe",
    mail_delivery_subject="{list}: how you receive it",
    mail_delivery_body=(
        "{address} on {list}: {state}.\n\n"
        "To change this, to pause, or to unsubscribe, visit your subscription page:\n\n"
        "  {link}\n\n"
        "If you did not ask for this, you can change it back there.\n"),
    state_each="you receive each post as it is sent",
    state_daily="you receive one digest a day",
    state_weekly="you receive one digest a week",
    state_plain="{state}, in plain text",
    state_paused="delivery is paused until you resume it; then {state}",
    state_paused_until="delivery is paused until {date}; then {state}",
    no_digests="{list} has no digests: every subscriber receives each issue.\n\n",
    digest_subject="{prefix}Digest, Vol {volume}, Issue {number}",
    digest_title="{list} Digest, Vol {volume}, Issue {number}",
    digest_kind_daily="Daily digest",
    digest_kind_weekly="Weekly digest",
    digest_kind_each="Your last digest: from now on you receive each post",
    digest_one="1 message",
    digest_many="{count} messages",
    digest_manage="Your subscription (digest or each post, pause, language, unsubscribe):",
    digest_topics="In this issue:",
    digest_preamble="This is a digest in MIME format: your mail program shows each "
                    "message of it separately.",
    digest_end="End of {list} Digest, Vol {volume}, Issue {number}",
    digest_no_subject="(no subject)",
    digest_no_text="[This message has no text to show here.]",
    digest_attachment="[Attachment not included: {name}, {type}, {size}]",
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
              "Sunday"),
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    long_date="{weekday} {day} {month} {year}",
    first_day="1",
)

FR = Messages(
    lang="fr",
    language_name="Français",
    subscribe_title="Abonnement à {list}",
    subscribe_intro="Indiquez votre adresse courriel. Nous vous enverrons un message avec un "
                    "lien; l'abonnement ne prend effet qu'une fois ce lien suivi.",
    label_email="Adresse courriel",
    label_name="Nom (facultatif)",
    label_lang="Langue",
    button_subscribe="M'abonner",
    subscribe_sent="Merci. Si {address} peut être abonnée à {list}, un message lui a été "
                   "envoyé. Veuillez suivre le lien qu'il contient d'ici {days} jours. "
                   "Si rien n'arrive, un message de confirmation reçu ces {days} derniers "
                   "jours fonctionne aussi : après quelques demandes par jour, nous "
                   "n'envoyons plus rien.",
    bad_address="Cette adresse courriel n'est pas valide. Veuillez la vérifier et réessayer.",
    too_many="Trop de demandes. Veuillez réessayer plus tard.",
    unknown_list="Il n'existe aucune liste de ce nom.",
    form_expired="Ce formulaire a expiré ou provient d'un autre site. "
                 "Veuillez recharger la page et réessayer.",
    bad_form="Votre navigateur a envoyé un formulaire illisible. "
             "Veuillez recharger la page et réessayer.",
    confirm_title="Veuillez confirmer",
    confirm_subscribe_prompt="Confirmez l'abonnement de {address} à {list}.",
    confirm_unsubscribe_prompt="Confirmez le désabonnement de {address} de {list}.",
    button_confirm="Confirmer",
    confirmed_subscribe="C'est fait : {address} est maintenant abonnée à {list}.",
    confirmed_unsubscribe="C'est fait : {address} est désabonnée de {list}.",
    token_expired="Ce lien de confirmation a expiré. Veuillez refaire la demande.",
    token_used="Ce lien de confirmation a déjà été utilisé.",
    token_unknown="Ce lien n'est pas valide. Vérifiez que vous l'avez copié en entier.",
    unsubscribe_title="Désabonnement de {list}",
    unsubscribe_prompt="Désabonner {address} de {list}?",
    button_unsubscribe="Me désabonner",
    unsubscribed="{address} est désabonnée de {list}. Vous ne recevrez plus de messages.",
    leave_intro="Indiquez l'adresse courriel abonnée. Nous lui enverrons un message avec un "
                "lien; le désabonnement ne prend effet qu'une fois ce lien suivi.",
    leave_sent="Merci. Si {address} est abonnée à {list}, un message lui a été envoyé. "
               "Veuillez suivre le lien qu'il contient d'ici {days} jours. Si rien n'arrive, "
               "un message de confirmation reçu ces {days} derniers jours fonctionne aussi : "
               "après quelques demandes par jour, nous n'envoyons plus rien.",
    not_found_title="Lien non valide",
    mail_confirm_subscribe_subject="Confirmez votre abonnement à {list}",
    mail_confirm_subscribe_body=(
        "Quelqu'un, sans doute vous, a demandé l'abonnement de {address} à {list}.\n\n"
        "Pour confirmer, ouvrez ce lien d'ici {days} jours :\n\n  {link}\n\n"
        "ou répondez simplement à ce message.\n\n"
        "Si vous n'avez rien demandé, ignorez ce message : rien ne se passera.\n"),
    mail_confirm_unsubscribe_subject="Confirmez votre départ de {list}",
    mail_confirm_unsubscribe_body=(
        "Quelqu'un, sans doute vous, a demandé le désabonnement de {address} de {list}.\n\n"
        "Pour confirmer, ouvrez ce lien d'ici {days} jours :\n\n  {link}\n\n"
        "ou répondez simplement à ce message.\n\n"
        "Si vous n'avez rien demandé, ignorez ce message : vous restez abonné.\n"),
    mail_done_subscribe_subject="Bienvenue à {list}",
    mail_done_unsubscribe_subject="Vous avez quitté {list}",
    mail_done_body="{result}\n",
    mail_not_member_subject="{list} : pas d'abonnement",
    mail_not_member_body="{address} n'est pas abonnée à {list}; rien n'a été changé.\n",
    mail_help_subject="{list} : aide",
    mail_help_body=(
        "Pour vous abonner à {list}, écrivez à {join} ou visitez {web}.\n"
        "Pour vous désabonner, écrivez à {leave}.\n"
        "Vous pouvez aussi écrire « subscribe », « unsubscribe » ou « help » en objet\n"
        "d'un message à {request}.\n"
        "Les membres peuvent y écrire « set digest daily » (condensé quotidien),\n"
        "« set digest weekly » (hebdomadaire), « set digest off » (chaque message),\n"
        "« set digest plain » ou « set digest mime » (format du condensé),\n"
        "« set nomail » (pause) ou « set mail » (reprise); le lien au bas de chaque\n"
        "condensé mène aussi à votre page d'abonnement.\n"
        "Pour joindre les responsables de la liste, écrivez à {owner}.\n"),
    mail_disabled_subject="{list} : {address} désactivée après des rebonds répétés",
    mail_disabled_body=(
        "Les envois à {address} sur {list} ont échoué {score} jours en {window} jours;\n"
        "l'abonnement est désactivé et ne reçoit plus de courriel.\n\n"
        "Dernier échec : {reason}\n\n"
        "Pour le réactiver : ccrlist members enable {address} --list {list}\n"),
    mail_held_subject="[{list}] Message retenu : {subject}",
    mail_held_body=(
        "Un message envoyé à {list} est retenu jusqu'à ce qu'un responsable de la liste\n"
        "décide de son sort.\n\n"
        "  De :          {author}\n"
        "  Objet :       {subject}\n"
        "  Reçu le :     {received}\n"
        "  Motif :       {reason}\n"
        "  Message :     {id} ({permalink})\n\n"
        "Pour le diffuser sur la liste, répondez à ce message avec ce mot en première ligne :\n\n"
        "    approve\n\n"
        "Pour le refuser, écrivez plutôt (un motif après le mot est facultatif) :\n\n"
        "    reject hors sujet\n\n"
        "(« approuver » et « rejeter » fonctionnent aussi.) Seule une réponse envoyée depuis\n"
        "l'adresse d'un responsable de la liste compte, et l'adresse de réponse de ce message\n"
        "ne sert qu'une fois. Sur le serveur, on fait la même chose avec :\n\n"
        "    ccrlist held show {id}\n"
        "    ccrlist held approve {id}\n"
        "    ccrlist held reject {id} --reason \"...\"\n\n"
        "Le début du message :\n\n{excerpt}\n"),
    held_reason_nonmember="l'auteur n'est pas abonné à la liste",
    held_reason_not_editor="seuls les rédacteurs peuvent écrire à cette liste",
    held_reason_dmarc=("il échoue au contrôle DMARC du domaine de l'expéditeur (l'expéditeur "
                       "est peut-être usurpé)"),
    mail_moderated_approved_subject="[{list}] Approuvé : {subject}",
    mail_moderated_approved_body=("Le message {id} ({permalink}) de {author} est approuvé et "
                                  "part sur la liste.\n"),
    mail_moderated_rejected_subject="[{list}] Refusé : {subject}",
    mail_moderated_rejected_body=("Le message {id} ({permalink}) de {author} est refusé et ne "
                                  "sera pas envoyé.\nMotif enregistré : {reason}\n"),
    mail_failures_subject="[{list}] {failed} copie(s) sur {total} de « {subject} » non remises",
    mail_failures_body=(
        "Le message « {subject} » de {author} (message {id}, {permalink}, reçu le\n"
        "{received}) est parti vers {total} destinataire(s); {failed} ne l'ont pas reçu.\n"
        "Chacun avec la réponse de son serveur de courriel ou de notre relais :\n\n"
        "{lines}\n\n"
        "{deferred}"
        "Un refus (une réponse 5xx) compte comme un rebond : un abonnement dont les envois\n"
        "échouent {threshold} jour(s) en {window} jours est désactivé, et vous en êtes avisé.\n\n"
        "  ccrlist deliveries --post {id}          tous les envois de ce message\n"
        "  ccrlist retry --post {id} --failed      réessayer les échecs, une fois réglé\n"
        "  ccrlist members show ADRESSE            listes, rebonds et dernier envoi d'un abonné\n"),
    mail_failures_more="  ... et {more} de plus : ccrlist deliveries --post {id} --status failed",
    mail_failures_deferred=("{deferred} autre(s) envoi(s) sont encore réessayés; vous serez avisé "
                            "de ceux qui échouent.\n\n"),
    page_title="Votre abonnement à {list}",
    page_intro="Comment {address} reçoit {list}.",
    label_delivery="Comment recevoir les messages",
    mode_each="Chaque message dès son envoi",
    mode_daily="Un condensé par jour, à {time}",
    mode_weekly="Un condensé par semaine, le {weekday} à {time}",
    label_format="Format du condensé",
    format_mime="MIME : chaque message à part, dans un seul courriel",
    format_plain="Texte brut (RFC 1153) : les messages l'un après l'autre",
    label_pause="Pause",
    pause_box="Suspendre la réception : aucun courriel de {list} pour l'instant",
    label_pause_until="Jusqu'au (facultatif)",
    pause_hint="Sans date, la pause dure jusqu'à ce que vous y mettiez fin ici.",
    label_language="Langue de cette page et de nos messages",
    button_save="Enregistrer",
    saved="C'est enregistré. {state}.",
    bad_pause_date="Veuillez choisir une date postérieure à aujourd'hui pour la fin de "
                   "la pause, ou aucune.",
    bad_choice="Veuillez choisir une des options proposées.",
    paused_until_note="La réception est suspendue jusqu'au {date}.",
    paused_note="La réception est suspendue.",
    inactive="{address} ne reçoit aucun courriel de {list} pour le moment. "
             "Pour le réactiver, écrivez à {owner}.",
    unsubscribe_heading="Désabonnement",
    mail_delivery_subject="{list} : votre mode de réception",
    mail_delivery_body=(
        "{address} sur {list} : {state}.\n\n"
        "Pour changer ce réglage, suspendre la réception ou vous désabonner, visitez\n"
        "votre page d'abonnement :\n\n"
        "  {link}\n\n"
        "Si vous n'avez rien demandé, vous pouvez y rétablir le réglage précédent.\n"),
    state_each="vous recevez chaque message dès son envoi",
    state_daily="vous recevez un condensé par jour",
    state_weekly="vous recevez un condensé par semaine",
    state_plain="{state}, en texte brut",
    state_paused="la réception est suspendue jusqu'à ce que vous la repreniez; ensuite, "
                 "{state}",
    state_paused_until="la réception est suspendue jusqu'au {date}; ensuite, {state}",
    no_digests="{list} n'a pas de condensé : chaque abonné reçoit chaque numéro.\n\n",
    digest_subject="{prefix}Condensé, vol. {volume}, numéro {number}",
    digest_title="Condensé de {list}, vol. {volume}, numéro {number}",
    digest_kind_daily="Condensé quotidien",
    digest_kind_weekly="Condensé hebdomadaire",
    digest_kind_each="Votre dernier condensé : vous recevez désormais chaque message",
    digest_one="1 message",
    digest_many="{count} messages",
    digest_manage="Votre abonnement (condensé ou chaque message, pause, langue, "
                  "désabonnement) :",
    digest_topics="Dans ce numéro :",
    digest_preamble="Ceci est un condensé au format MIME : votre logiciel de courriel en "
                    "montre chaque message à part.",
    digest_end="Fin du condensé de {list}, vol. {volume}, numéro {number}",
    digest_no_subject="(sans objet)",
    digest_no_text="[Ce message n'a pas de texte à montrer ici.]",
    digest_attachment="[Pièce jointe non incluse : {name}, {type}, {size}]",
    weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    long_date="{weekday} {day} {month} {year}",
    first_day="1er",
)

CATALOGUE: dict[Lang, Messages] = {"en": EN, "fr": FR}


def messages(lang: str) -> Messages:
    """The texts for `lang`, English for anything we do not speak."""
    return FR if lang == "fr" else EN


def long_date(t: Messages, day: date) -> str:
    """"Tuesday 24 November 2026", "mardi 1er décembre 2026"."""
    return t.long_date.format(weekday=t.weekdays[day.weekday()],
                              day=t.first_day if day.day == 1 else str(day.day),
                              month=t.months[day.month - 1], year=day.year)
