"""Every text a subscriber reads, on web pages and in emails, in English and French (pure).

Texts are `str.format` templates; pages escape the values, emails are plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        "To reach the people who run the list, write to {owner}.\n"),
    mail_disabled_subject="{list}: {address} disabled after repeated bounces",
    mail_disabled_body=(
        "Deliveries to {address} on {list} failed on {score} days within {window} days,\n"
        "so the membership is now disabled and receives no mail.\n\n"
        "Last failure: {reason}\n\n"
        "To re-enable it: ccrlist members enable {address} --list {list}\n"),
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
        "Pour joindre les responsables de la liste, écrivez à {owner}.\n"),
    mail_disabled_subject="{list} : {address} désactivée après des rebonds répétés",
    mail_disabled_body=(
        "Les envois à {address} sur {list} ont échoué {score} jours en {window} jours;\n"
        "l'abonnement est désactivé et ne reçoit plus de courriel.\n\n"
        "Dernier échec : {reason}\n\n"
        "Pour le réactiver : ccrlist members enable {address} --list {list}\n"),
)

CATALOGUE: dict[Lang, Messages] = {"en": EN, "fr": FR}


def messages(lang: str) -> Messages:
    """The texts for `lang`, English for anything we do not speak."""
    return FR if lang == "fr" else EN
