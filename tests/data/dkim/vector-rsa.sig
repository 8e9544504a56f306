DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
 d=lists.example.org; i=@lists.example.org; q=dns/txt; s=vector;
 t=1796000000; h=from : subject : date : message-id : to : cc :
 reply-to : mime-version : content-type : content-transfer-encoding :
 list-id : list-unsubscribe : list-unsubscribe-post : from : subject :
 date : message-id : to : cc : reply-to : mime-version : content-type :
 content-transfer-encoding : list-id : list-unsubscribe :
 list-unsubscribe-post;
 bh=YNYwuxALBaG7bVZVPnMYpTWUFZRGPbqX3xZtN+Cu/A0=;
 b=V+RRvVBqM2WDulsIdMFA1zD9bQNgDZlZt29uoz8dTUC86AWeEhqTSXe17ik5CUqnF9WAm
 0vLcTR1XgZsJcKfBDFvFR+IhWeqzk/F0w26lLJq645SbXDdlqvTmSNFQwNXUclyLhYMpBN7
 CG2k+f4Io/4vaIdfRVTt4856TlXdmfKWP8uiRQ8QTdrX8gk+gNvrYaoV+w2qxWt7F+dVRGe
 QmPSitddkbGn154P7rmvsuo961uy6NOji9EzPRK1RzVZEOvqX5jRjRMWQNvYwC84bvAtfSE
 p5rH1Ro/VbKuKfnv40ZbuwzzFcJJCraNom9PxxgEbDxmlB1Vu3hRLsyydkQw==
